console.log("thermostat");
