"""Stripe-looking identifiers and calendar arithmetic shared by the demo account.

Ids come from a seeded ``random.Random`` so the same seed yields the same ids.
Billing periods follow Stripe: period k starts at the anchor plus k intervals of
whole months, the day clamped to the month's length (Jan 31 -> Feb 28 -> Mar 31).
"""

from __future__ import annotations

import base64
import calendar
import random
from datetime import datetime, timezone

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DAY = 86_400


_BASE64_TO_ALNUM = bytes.maketrans(b"+/", b"xQ")


def random_id(prefix: str, rng: random.Random, length: int = 14) -> str:
    """``prefix_`` and ``length`` alphanumerics from the seeded RNG (fast: one draw)."""
    size = (length * 6 + 7) // 8 + 1
    raw = base64.b64encode(rng.getrandbits(8 * size).to_bytes(size, "big"))
    return prefix + "_" + raw[:length].translate(_BASE64_TO_ALNUM).decode()


def ordered_id(prefix: str, sequence: int, rng: random.Random) -> str:
    """An id whose text order follows ``sequence`` (Stripe's event ids rise with time)."""
    digits = []
    for _ in range(7):
        sequence, remainder = divmod(sequence, 62)
        digits.append(_ALPHABET[remainder])
    return f"{prefix}_1{''.join(reversed(digits))}{random_id('', rng, 16)[1:]}"


def add_months(timestamp: int, months: int) -> int:
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def today_midnight_utc() -> int:
    now = datetime.now(timezone.utc)
    return int(datetime(now.year, now.month, now.day, tzinfo=timezone.utc).timestamp())
