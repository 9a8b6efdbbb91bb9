"""The pytest11 plugin: registered by installing murano-sim."""
