"""What an identity's own fields may hold: username, e-mail address, display name (pure)."""

from __future__ import annotations

import re

from app import json_bounds
from app.errors import Problem

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# Deliberately loose (one @, a dot in the domain, no spaces): the address is for people to
# read; nothing is sent to it by the server.
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254
MAX_DISPLAY_NAME = 200
MAX_REASON = 1_000


def check_username(username: str) -> list[Problem]:
    if not USERNAME.match(username):
        message = "Usernames are 2-64 of a-z 0-9 . _ - (starting with a letter or digit)."
        return [Problem("INVALID_USERNAME", message, "username")]
    return []


def normal_email(email: str | None) -> str | None:
    """Stored lower-cased and trimmed; empty means none."""
    if email is None:
        return None
    email = email.strip().lower()
    return email or None


def check_email(email: str | None) -> list[Problem]:
    if email is not None and (len(email) > MAX_EMAIL or not EMAIL.match(email)):
        return [Problem("INVALID_EMAIL", "That is not an e-mail address.", "email")]
    return []


def check_display_name(name: str) -> list[Problem]:
    if len(name) > MAX_DISPLAY_NAME:
        return [Problem("TOO_LONG", f"displayName allows {MAX_DISPLAY_NAME} characters.", "displayName")]
    return json_bounds.check_text(name, "displayName")


def check_reason(reason: str) -> list[Problem]:
    if not reason.strip():
        return [Problem("REQUIRED", "Give the reason (it is kept with the account's history).", "reason")]
    if len(reason) > MAX_REASON:
        return [Problem("TOO_LONG", f"reason allows {MAX_REASON:,} characters.", "reason")]
    return json_bounds.check_text(reason, "reason")
