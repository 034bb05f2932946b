"""What the download routes (exports, reports, guidelines, metrics) answer: the headers of the
files they hand out, and their refusals."""

from __future__ import annotations

import re

from starlette.responses import JSONResponse


def attachment(name: str, extension: str) -> dict[str, str]:
    """Content-Disposition naming the file after `name`, reduced to characters every client accepts."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "download"
    return {"Content-Disposition": f'attachment; filename="{stem}.{extension}"'}


def refusal(status: int, error: str, description: str) -> JSONResponse:
    """A download route's refusal, shaped as the token endpoint's errors (RFC 6749 section 5.2):
    {"error": "not_found" | "forbidden" | "invalid_request", "error_description": "..."}."""
    return JSONResponse({"error": error, "error_description": description}, status_code=status)
