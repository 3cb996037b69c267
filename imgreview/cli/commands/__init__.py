"""One module per subcommand; each defines ``register(subparsers)`` and sets ``func`` on its parser.

Shared option groups live in :mod:`imgreview.cli.options`.
"""
