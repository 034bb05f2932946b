"""Column types shared by the tables: portable JSON and enums stored as plain strings, and the
one SQL expression both databases spell differently that reads need (epoch seconds)."""

import enum
from typing import Any

from sqlalchemy import JSON, Enum, Float
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
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


class epoch_seconds(FunctionElement[float]):
    """A timestamp column as seconds since the epoch (UTC), computed by the database: reading
    100,000 timestamps this way skips parsing each one in Python. Millisecond precision on SQLite,
    microseconds on PostgreSQL."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # A Julian day as a double is exact to about 50 microseconds: rounded to the millisecond, an
    # instant on the hour stays on it (unrounded, 10:00:00 can read as 09:59:59.99995).
    return f"ROUND((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0, 3)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"
