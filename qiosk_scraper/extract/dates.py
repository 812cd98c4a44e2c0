"""Dates: ISO values from structured data, shown dates from the page ("Dec 06, 2024",
"December 06, 2024", "17 Nov 2025", relative "5h" / "23m"), and the cross-check between them.

A shown date carries no zone: it is the outlet's local day, America/New_York.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dateparser

OUTLET_ZONE = ZoneInfo("America/New_York")

_RELATIVE = re.compile(
    r"^(?P<n>\d{1,4})\s*(?P<unit>s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?"
    r"|d|days?|w|wk|wks|weeks?)(?:\s+ago)?$",
    re.I,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PREFIX = re.compile(r"^(?:last\s+)?(?:updated|modified|published|posted)(?:\s+on)?\s*:?\s*", re.I)
_DATEPARSER_SETTINGS: dict[str, Any] = {
    "TIMEZONE": "America/New_York",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "PREFER_DAY_OF_MONTH": "first",
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
}
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES.split(), 1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES.split(), 1)},
    "sept": 9,
}
# "Dec 06, 2024", "December 6 2024", "17 Nov 2025": the forms outlets show, read without
# dateparser (which costs a tenth of a whole extraction); anything else goes to dateparser
_WRITTEN_DAY = re.compile(
    r"^(?:(?P<month>[a-z]{3,9})\.? (?P<day>\d{1,2})"
    r"|(?P<day_first>\d{1,2}) (?P<month_after>[a-z]{3,9})\.?)"
    r"(?: ?, ?| )(?P<year>(?:19|20)\d\d)$",
    re.I,
)


@dataclass(frozen=True)
class ShownDate:
    """A date as the page shows it: a calendar day, or an exact moment for relative forms."""

    moment: datetime
    exact: bool

    @property
    def local_day(self) -> date:
        return self.moment.astimezone(OUTLET_ZONE).date()


def parse_timestamp(value: str | None) -> datetime | None:
    """A structured timestamp as an aware datetime: ISO 8601 as the outlet writes it, else any
    other written form found in the wild ("19 Nov 2019 07:09 GMT", RFC 2822) through
    dateparser. Zone-less values are New York time."""
    if not value:
        return None
    try:
        moment: datetime | None = datetime.fromisoformat(value.strip())
    except ValueError:
        moment = _dateparser(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=OUTLET_ZONE)
    try:
        moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed out of range by its offset
        return None
    return moment


def _dateparser(text: str) -> datetime | None:
    """dateparser on absolute forms only: relative ones ("yesterday") would read the clock."""
    if len(text) > 80:
        return None
    try:
        return dateparser.parse(text, languages=["en"], settings=_DATEPARSER_SETTINGS)
    except (ValueError, OverflowError, TypeError):  # dateparser's own failures on odd input
        return None


def parse_shown(text: str | None, fetched_at: datetime) -> ShownDate | None:
    """A shown date: relative forms resolved against ``fetched_at``, the common written forms
    read directly, others through dateparser."""
    if not text:
        return None
    text = _PREFIX.sub("", " ".join(text.split())).strip()
    if not text or len(text) > 60:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        unit = relative.group("unit")[0].lower()
        delta = timedelta(seconds=int(relative.group("n")) * _UNIT_SECONDS[unit])
        return ShownDate(_aware(fetched_at) - delta, exact=True)
    day = _written_day(text)
    if day is None:
        moment = _dateparser(text)
        if moment is None:
            return None
        day = moment.date()
    return ShownDate(datetime(day.year, day.month, day.day, tzinfo=OUTLET_ZONE), exact=False)


def _written_day(text: str) -> date | None:
    """The day of a date written in one of the common English forms (:data:`_WRITTEN_DAY`),
    exactly as dateparser reads it; None when the text is not in one of them (or names no real
    day: dateparser then decides)."""
    found = _WRITTEN_DAY.match(text)
    if found is None:
        return None
    month = _MONTHS.get((found["month"] or found["month_after"]).lower())
    if month is None:
        return None
    try:
        return date(int(found["year"]), month, int(found["day"] or found["day_first"]))
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def disagree(structured: datetime, shown: ShownDate) -> bool:
    """True when a structured timestamp and a shown date are more than a day apart.

    A calendar day is compared in New York time, so a post at 23:30 New York (the next day in
    UTC) agrees with the day it shows.
    """
    if shown.exact:
        return abs(structured - shown.moment) > timedelta(days=1)
    return abs((structured.astimezone(OUTLET_ZONE).date() - shown.local_day).days) > 1
