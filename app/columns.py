"""Column types shared by the tables: portable JSON and enums stored as plain strings."""

import enum
from typing import Any

from sqlalchemy import JSON, Enum
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Column, Field


def json_field(*, nullable: bool = False, default: Any = None) -> Any:
    """JSONB on PostgreSQL, JSON text elsewhere."""
    column_type = JSON().with_variant(JSONB(), "postgresql")
    return Field(default=default, sa_column=Column(column_type, nullable=nullable))


def enum_field(
    enum_type: type[enum.StrEnum], *, default: Any = None, index: bool = False, nullable: bool = False
) -> Any:
    """A VARCHAR holding the member's value: adding a member later needs no ALTER TYPE."""
    column_type = Enum(enum_type, native_enum=False, length=32, values_callable=_values)
    return Field(default=default, sa_column=Column(column_type, nullable=nullable, index=index))


def _values(enum_type: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in enum_type]
