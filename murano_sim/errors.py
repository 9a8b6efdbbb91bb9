"""Errors a user can cause: each carries one line that says what and where."""


class MuranoSimError(Exception):
    """Base class: the CLI prints str(error) on one line and exits 2."""


class ConfigError(MuranoSimError):
    """config.yaml (or a config dict) is malformed or incomplete."""


class UsageError(MuranoSimError):
    """A command-line argument or API argument is wrong."""
