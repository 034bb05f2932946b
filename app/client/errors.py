"""What the client raises, importable without loading the HTTP stack (the CLI imports it at start)."""

from __future__ import annotations


class ApiError(Exception):
    """The server (or the way to it) refused: the message is one line for the operator."""
