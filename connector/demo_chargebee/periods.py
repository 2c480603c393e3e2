"""Calendar arithmetic for the fake site's billing terms (UTC, month ends clamped)."""

from __future__ import annotations

import calendar
from datetime import datetime, timezone

DAY = 86_400


def add_period(ts: int, count: int, unit: str) -> int:
    """``ts`` moved by ``count`` day/week/month/year periods; the 31st of a month becomes the last day."""
    if unit == "day":
        return ts + count * DAY
    if unit == "week":
        return ts + count * 7 * DAY
    months = count * (12 if unit == "year" else 1)
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return int(moment.replace(year=year, month=month + 1, day=day).timestamp())
