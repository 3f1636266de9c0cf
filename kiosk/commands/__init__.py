"""One module per ``kiosk`` subcommand; each provides ``register(subparsers, parents)``."""
