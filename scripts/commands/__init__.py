"""One module per command of `python -m scripts`; see scripts/cli.py for the interface."""
