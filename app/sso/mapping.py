"""Claims to role grants (pure): a provider's mappings say "when claim C holds value V, role R in
project P". A claim may be a string or a list of strings (a groups claim); a dotted claim name
reaches into objects (`realm_access.roles`)."""

from __future__ import annotations

import uuid
from typing import Any

from app.policies.roles import Role


def claim_values(claims: dict[str, Any], name: str) -> set[str]:
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return set()
        value = value.get(part)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    if isinstance(value, bool | int):
        return {str(value).lower() if isinstance(value, bool) else str(value)}
    return set()


def mapped_grants(claims: dict[str, Any], mappings: list[dict[str, Any]]) -> set[tuple[Role, uuid.UUID]]:
    """Every (role, project) the claims earn under the mappings."""
    earned = set()
    for mapping in mappings:
        if mapping["value"] in claim_values(claims, mapping["claim"]):
            earned.add((Role(mapping["role"]), uuid.UUID(mapping["project"])))
    return earned


def email_allowed(claims: dict[str, Any], domains: list[str]) -> str | None:
    """The lower-cased e-mail address when it is verified and (if domains are listed) in one of
    them; None otherwise."""
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is not True:
        return None
    email = email.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return None
    if domains and domain not in domains:
        return None
    return email
