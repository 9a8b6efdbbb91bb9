-- scripts_asyncJob.lua: scripts / asyncJob (a custom event of the Scripts service).
return data
