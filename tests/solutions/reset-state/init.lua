-- Runs once per fresh state: at the first start, and again after every reset.
Device2.addIdentity({ identity = "from-init" })
Keystore.set({ key = "init", value = "ran" })
