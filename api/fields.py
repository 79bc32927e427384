"""Annotated types for route parameters whose plain Python type lets nonsense through."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def _iso_day(value: Any) -> Any:
    # pydantic reads a number as a Unix timestamp: `date_to=-7.9e-258` would be 1970-01-01.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.match(value)):
        return value
    raise ValueError("use a calendar date written YYYY-MM-DD")


def _in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"use a date between {FIRST_DAY} and {LAST_DAY}")
    return value


# A calendar day as YYYY-MM-DD, within years any claim can have.
Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range)]


_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _iso_instant(value: Any) -> Any:
    # As with days: a bare number would be read as seconds since 1970.
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_INSTANT.match(value)):
        return value
    raise ValueError("use an ISO 8601 time, e.g. 2026-01-31T09:00:00Z")


# A point in time written in ISO 8601.
Instant = Annotated[datetime, BeforeValidator(_iso_instant)]
