"""Text for people: sizes and paths in messages, shared by the CLI and the TUI."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, as file managers show them)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def display_path(path: str) -> str:
    """A path for messages: printable, one line, non-UTF-8 bytes and control characters escaped."""
    s = path.encode("utf-8", "backslashreplace").decode("utf-8")
    if any(ord(c) < 32 or ord(c) == 127 for c in s):
        s = "".join(c if 32 <= ord(c) != 127 else repr(c)[1:-1] for c in s)
    return s
