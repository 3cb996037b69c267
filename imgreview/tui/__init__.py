"""The review TUI (Textual). Only this package imports Textual; the core works without it."""
