"""One module per ``backoffice`` subcommand; each provides ``register(subparsers, parents)``."""
