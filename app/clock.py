"""Time, in one place, so every stored timestamp is timezone-aware UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A stored time as aware UTC: SQLite hands timestamps back naive, and every stored one is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
