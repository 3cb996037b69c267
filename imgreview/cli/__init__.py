"""The command line: ``imgreview COMMAND``; a thin layer over the library (see :mod:`imgreview.cli.main`)."""
