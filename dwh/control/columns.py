"""Column types the control tables share: timestamps that come back timezone-aware UTC on both engines.

PostgreSQL keeps ``TIMESTAMP WITH TIME ZONE`` and hands back aware datetimes; SQLite has no time zone
type, so SQLAlchemy stores the text of a naive datetime and reads a naive one back. `utc_timestamp`
stores every value as UTC and returns it as an aware UTC datetime on either engine, so code that
compares or subtracts timestamps (timeouts, durations in a notice) never mixes naive and aware values.
SQLAlchemy is imported when the type is first asked for, not when this module is imported.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.types import TypeEngine


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime (what every control-table timestamp holds)."""
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """`value` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


@functools.cache
def utc_timestamp() -> TypeEngine[dt.datetime]:
    """A ``DateTime(timezone=True)`` column type that reads and writes aware UTC datetimes on both engines."""
    from sqlalchemy.types import DateTime, TypeDecorator

    class UtcTimestamp(TypeDecorator[dt.datetime]):
        """Aware UTC datetimes in, aware UTC datetimes out."""

        impl = DateTime(timezone=True)
        cache_ok = True

        def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
            utc = as_utc(value)
            # SQLite would store the offset text and then fail to parse it back: store naive UTC there.
            if utc is not None and dialect.name == "sqlite":
                return utc.replace(tzinfo=None)
            return utc

        def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
            return as_utc(value)

    return UtcTimestamp()
