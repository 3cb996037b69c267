"""Widgets of the review screen, one module per screen area."""
