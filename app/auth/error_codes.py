"""Error codes of auth: each group where its codes are raised, and the enums of the area's
payload errors in the SDL, TokenErrorCode (signing out) and IdentityErrorCode (people and
service accounts); tests/schema/test_error_codes.py keeps them complete."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes
from app.json_bounds import JsonErrorCode


class TokenCode(enum.StrEnum):
    """Signing out: revoking refresh tokens."""

    NOTHING_TO_REVOKE = "NOTHING_TO_REVOKE"


TokenErrorCode = error_codes(
    "TokenErrorCode",
    "Signing out.",
    CommonErrorCode,
    TokenCode,
)


class PasswordCode(enum.StrEnum):
    """The password policy (app/auth/password_policy.py)."""

    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    PASSWORD_IS_NAME = "PASSWORD_IS_NAME"  # the username, e-mail address or name
    COMMON_PASSWORD = "COMMON_PASSWORD"  # in the list of the most common passwords
    WEAK_PASSWORD = "WEAK_PASSWORD"  # zxcvbn's estimate is below the policy's score


class AccountCode(enum.StrEnum):
    """People and service accounts: creating, inviting, changing and ending them."""

    INVALID_USERNAME = "INVALID_USERNAME"
    USERNAME_TAKEN = "USERNAME_TAKEN"
    INVALID_EMAIL = "INVALID_EMAIL"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_TOKEN = "INVALID_TOKEN"  # an invitation or reset link that is unknown, used, expired or revoked
    WRONG_PASSWORD = "WRONG_PASSWORD"  # changePassword's current password
    # changePassword after repeated wrong current passwords (the /auth/token budget, shared)
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    SAME_PASSWORD = "SAME_PASSWORD"
    NOT_ACTIVE = "NOT_ACTIVE"  # a password reset for an account that cannot sign in
    SELF_DEACTIVATION = "SELF_DEACTIVATION"
    SELF_RESET = "SELF_RESET"  # an admin's own password is changed with changePassword
    ALREADY_DEACTIVATED = "ALREADY_DEACTIVATED"
    NOT_DEACTIVATED = "NOT_DEACTIVATED"
    ALREADY_ERASED = "ALREADY_ERASED"
    ALREADY_REVOKED = "ALREADY_REVOKED"
    GRANT_REQUIRED = "GRANT_REQUIRED"  # a project manager's invitation names a role in its project
    DUPLICATE_GRANT = "DUPLICATE_GRANT"
    # a person's operation on a service account (or the reverse), or a role that does not fit
    WRONG_IDENTITY_KIND = "WRONG_IDENTITY_KIND"
    WRONG_SCOPE = "WRONG_SCOPE"  # an org-wide role in a project, or a project role org-wide


IdentityErrorCode = error_codes(
    "IdentityErrorCode",
    "People and service accounts: creating, inviting, updating, deactivating, passwords, client secrets.",
    CommonErrorCode,
    JsonErrorCode,
    PasswordCode,
    AccountCode,
)
