"""One module per CLI command (see sandbox/cli.py)."""
