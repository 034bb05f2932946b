"""Relay global ids: opaque base64 of "Type:uuid"; resolving one goes through the same checks
as the field that lists it."""

from __future__ import annotations

import uuid

import strawberry

from app.ids import decode_global_id, encode_global_id
from app.schema.errors import bad_input


@strawberry.interface(description="An object with a global id that `node(id:)` can refetch.")
class Node:
    id: strawberry.ID


def global_id(type_name: str, pk: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(encode_global_id(type_name, pk))


def parse_global_id(value: str) -> tuple[str, uuid.UUID]:
    decoded = decode_global_id(value)
    if decoded is None:
        raise bad_input(f"'{value}' is not an id of this API.")
    return decoded


def decode_id(value: str, expected: str, field: str = "id") -> uuid.UUID:
    type_name, pk = parse_global_id(value)
    if type_name != expected:
        raise bad_input(f"{field} must be the id of a {expected}, not of a {type_name}.")
    return pk
