"""Error codes of single sign-on: configuring providers (SsoErrorCode, in the SDL) and why a
sign-in through a provider was refused (SignInRefusal, the `error` of the callback's answer).
tests/schema/test_error_codes.py keeps them complete."""

from __future__ import annotations

import enum

from app.errors import CommonErrorCode, error_codes


class ProviderCode(enum.StrEnum):
    """configureIdentityProvider's input."""

    INVALID_NAME = "INVALID_NAME"  # the path segment: 2-64 of a-z 0-9 - _
    INVALID_TEXT = "INVALID_TEXT"  # empty, too long or unprintable (client id, scope, claim, secret)
    INVALID_URL = "INVALID_URL"
    UNSUPPORTED_SCHEME = "UNSUPPORTED_SCHEME"  # the issuer must be https (http only where allowed)
    CREDENTIALS_IN_URL = "CREDENTIALS_IN_URL"
    ADDRESS_REFUSED = "ADDRESS_REFUSED"  # the issuer resolves to an address the server may not reach
    UNRESOLVABLE_HOST = "UNRESOLVABLE_HOST"
    SECRET_REQUIRED = "SECRET_REQUIRED"  # noqa: S105  (a code: a new provider needs its client secret)
    INVALID_DOMAIN = "INVALID_DOMAIN"
    INVALID_MAPPING = "INVALID_MAPPING"  # an empty claim or value, or a duplicate
    WRONG_SCOPE = "WRONG_SCOPE"  # a mapped role must be one held in a project (and given one)
    WRONG_IDENTITY_KIND = "WRONG_IDENTITY_KIND"  # a service accounts' role
    TOO_MANY = "TOO_MANY"  # scopes, domains or mappings beyond their bound


SsoErrorCode = error_codes(
    "SsoErrorCode",
    "Configuring OpenID Connect identity providers.",
    CommonErrorCode,
    ProviderCode,
)


class SignInRefusal(enum.StrEnum):
    """Why /auth/oidc/{provider}/login or /callback refused: one code, one message, nothing more."""

    NOT_FOUND = "not_found"  # no such provider, or it is disabled (404)
    INVALID_STATE = "invalid_state"  # unknown, used or expired state: start again (400)
    PROVIDER_ERROR = "provider_error"  # the provider answered an error, or could not be reached (502 / 400)
    INVALID_ID_TOKEN = "invalid_id_token"  # noqa: S105  (a code: signature, issuer, audience, times, nonce; 401)
    EMAIL_NOT_ALLOWED = "email_not_allowed"  # no verified e-mail, or its domain is not allowed (403)
    ACCOUNT_INACTIVE = "account_inactive"  # the linked person is deactivated, invited or erased (403)
    ACCOUNT_CONFLICT = "account_conflict"  # the e-mail's person is linked to another subject (403)
