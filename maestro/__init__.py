"""maestro: tracker issues to merged pull requests, one resumable lane per issue."""

__version__ = "0.1.0"
