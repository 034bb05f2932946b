"""The password policy (pure): long enough, not a common password, not the person's own name.

The common passwords are zxcvbn's bundled frequency list (the 30,000 most frequent passwords of
leaked sets; the `zxcvbn` package ships it, so nothing is fetched and nothing is copied into this
repository). zxcvbn's estimate then refuses what the list alone misses: repeats, keyboard walks,
dates, l33t spellings of dictionary words, and the person's own names (passed as user inputs).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from app.errors import Problem
from app.settings import Settings

MAX_PASSWORD = 1024  # the token endpoint's form field bound: a longer one could never sign in
ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters are estimated
SERVICE_WORDS = ("labelgraph",)


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 12
    min_score: int = 3  # zxcvbn's 0-4; 0 turns the estimate off

    @classmethod
    def of(cls, settings: Settings) -> PasswordPolicy:
        return cls(min_length=settings.min_password_length, min_score=settings.min_password_score)


@functools.cache
def common_passwords() -> frozenset[str]:
    # Imported on first use: zxcvbn's dictionaries are ~14 MiB a server only needs once someone
    # sets a password.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _names(username: str, email: str | None, display_name: str) -> list[str]:
    """What a person's password must not be: the username, the e-mail address and its local part,
    the display name (lower case)."""
    found = [username, display_name]
    if email:
        found += [email, email.partition("@")[0]]
    return [name.lower() for name in found if name]


def check_password(
    password: str,
    policy: PasswordPolicy,
    *,
    username: str,
    email: str | None = None,
    display_name: str = "",
    field: str = "password",
) -> list[Problem]:
    if len(password) < policy.min_length:
        return [Problem("PASSWORD_TOO_SHORT", f"Use at least {policy.min_length} characters.", field)]
    if len(password) > MAX_PASSWORD:
        return [Problem("TOO_LONG", f"A password has at most {MAX_PASSWORD} characters.", field)]
    lowered = password.lower()
    names = _names(username, email, display_name)
    squashed = re.sub(r"[\W_]+", "", lowered)
    if lowered in names or squashed in {re.sub(r"[\W_]+", "", name) for name in names}:
        return [Problem("PASSWORD_IS_NAME", "Your password may not be your username, e-mail or name.", field)]
    if lowered in common_passwords():
        return [Problem("COMMON_PASSWORD", "That password is among the most common ones: choose another.", field)]
    if policy.min_score > 0:
        from zxcvbn import zxcvbn

        estimate = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[*names, *SERVICE_WORDS])
        if estimate["score"] < policy.min_score:
            hint = estimate["feedback"].get("warning") or "Add more words or characters that are hard to guess."
            return [Problem("WEAK_PASSWORD", f"That password is too easy to guess. {hint}".strip(), field)]
    return []
