"""The ID token checks and the issuer's address policy on their own (pure; the end-to-end refusals
are in test_sign_in.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from app.events.addresses import AddressPolicy
from app.sso import id_token
from app.sso.mapping import claim_values, email_allowed
from app.sso.service import check_issuer

KEY = RSAKey.generate_key(2048, auto_kid=True)
KEYS = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])
EXPECTED = id_token.Expected("https://idp.example", "labelgraph", "n-1", ("RS256",))


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "https://idp.example",
        "aud": "labelgraph",
        "sub": "s",
        "iat": now,
        "exp": now + 60,
        "nonce": "n-1",
        **changes,
    }


def signed(body: dict[str, Any]) -> str:
    return jwt.encode({"alg": "RS256", "kid": KEY.kid}, body, KEY)


def test_a_good_token_passes() -> None:
    assert id_token.validate(signed(claims()), KEYS, EXPECTED)["sub"] == "s"


def test_an_hmac_token_keyed_with_anything_is_refused() -> None:
    """HS256 would make the client secret (or the public key's bytes) the key: never accepted."""
    forged = jwt.encode({"alg": "HS256"}, claims(), OctKey.import_key(b"labelgraph-client-secret-value"))
    with pytest.raises(id_token.InvalidIdToken, match="algorithm"):
        id_token.validate(
            forged, KEYS, id_token.Expected("https://idp.example", "labelgraph", "n-1", ("RS256", "HS256"))
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"iat": int(time.time()) + 3600},  # issued in the future
        {"sub": ""},
        {"exp": "tomorrow"},
        {"azp": "someone-else"},
    ],
)
def test_claims_out_of_line_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(id_token.InvalidIdToken):
        id_token.validate(signed(claims(**changes)), KEYS, EXPECTED)


def test_a_key_the_set_lacks_is_refused() -> None:
    other = RSAKey.generate_key(2048, auto_kid=True)
    with pytest.raises(id_token.InvalidIdToken):
        id_token.validate(jwt.encode({"alg": "RS256", "kid": other.kid}, claims(), other), KEYS, EXPECTED)


def test_groups_and_nested_claims_are_read_as_values() -> None:
    token = {"groups": ["a", "b", 3], "realm_access": {"roles": ["qa"]}, "dept": "ops"}
    assert claim_values(token, "groups") == {"a", "b"}
    assert claim_values(token, "realm_access.roles") == {"qa"}
    assert claim_values(token, "dept") == {"ops"}
    assert claim_values(token, "missing.deeper") == set()


def test_only_verified_addresses_in_allowed_domains_pass() -> None:
    assert email_allowed({"email": "A@X.org", "email_verified": True}, []) == "a@x.org"
    assert email_allowed({"email": "a@x.org", "email_verified": "true"}, []) is None
    assert email_allowed({"email": "a@x.org", "email_verified": True}, ["y.org"]) is None
    assert email_allowed({"email": "a@sub.y.org", "email_verified": True}, ["y.org"]) is None


async def test_an_issuer_on_loopback_or_over_http_is_refused_unless_allowed() -> None:
    closed = AddressPolicy(())
    refused = await check_issuer(closed, "http://127.0.0.1:9/idp", allow_http=True)
    assert [p.code for p in refused] == ["ADDRESS_REFUSED"]
    plain = await check_issuer(closed, "http://93.184.216.34/idp", allow_http=False)
    assert [p.code for p in plain] == ["UNSUPPORTED_SCHEME"]
    assert await check_issuer(AddressPolicy(("127.0.0.0/8",)), "http://127.0.0.1:9/idp", allow_http=True) == []
    assert await check_issuer(closed, "https://93.184.216.34/idp", allow_http=False) == []
