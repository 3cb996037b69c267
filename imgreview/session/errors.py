"""The session layer's error (one home, so the folder and the result database share it)."""

from __future__ import annotations

from imgreview.errors import ImgreviewError


class SessionError(ImgreviewError):
    """The session folder cannot be used; the message says why and what to do."""
