"""The custom scalars, described and pointed at their specifications (`@specifiedBy`), so that
generated clients (graphql-codegen and the like) know how to read and write them.

They replace strawberry's definitions for `datetime` and `JSON` through
`StrawberryConfig(scalar_map=SCALARS)`; `ID` is GraphQL's own and is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

RFC_3339 = "https://datatracker.ietf.org/doc/html/rfc3339"
ECMA_404 = "https://www.ecma-international.org/publications-and-standards/standards/ecma-404/"


def serialize_datetime(value: datetime) -> str:
    # Every stored timestamp is UTC (app/clock.py); a naive one is read as such rather than
    # sent without the offset RFC 3339 requires.
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


def parse_datetime(value: Any) -> datetime:
    expected = "Expected an RFC 3339 date-time with a time-zone offset, e.g. 2026-01-31T09:30:00Z."
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(f"DateTime cannot represent a non-string value. {expected}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f'Value cannot represent a DateTime: "{value}". {expected}') from None
    if parsed.tzinfo is None:
        # Without an offset the instant is unknown: guessing a zone would silently shift it.
        raise StrawberryInputCoercionError(f'DateTime "{value}" has no time-zone offset. {expected}')
    return parsed


DATETIME = strawberry.scalar(
    name="DateTime",
    description=(
        "An instant as an RFC 3339 date-time with its offset (an ISO 8601 profile), "
        'e.g. "2026-01-31T09:30:00.123456+00:00". The server sends UTC; input needs an offset ("Z" or "+01:00").'
    ),
    specified_by_url=RFC_3339,
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

JSON_SCALAR = strawberry.scalar(
    name="JSON",
    description=(
        "Any JSON value (object, array, string, number, boolean or null) as specified by ECMA-404, sent as is: "
        "label values, label-schema definitions, audit details."
    ),
    specified_by_url=ECMA_404,
    serialize=lambda value: value,
    parse_value=lambda value: value,
)

SCALARS: Mapping[object, ScalarDefinition] = {datetime: DATETIME, JSON: JSON_SCALAR}
