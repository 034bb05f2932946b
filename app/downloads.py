"""Headers for files the HTTP endpoints hand out."""

from __future__ import annotations

import re


def attachment(name: str, extension: str) -> dict[str, str]:
    """Content-Disposition naming the file after `name`, reduced to characters every client accepts."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "download"
    return {"Content-Disposition": f'attachment; filename="{stem}.{extension}"'}
