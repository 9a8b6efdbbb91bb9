fetch("/greet/ada").then((r) => r.text());
