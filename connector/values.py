"""Values from upstream checked before anything stores, dates or adds them.

Stripe never sends an amount above 12 digits or a date past year 9999, but a
proxy, a fake or a future API version might; one such value must not crash the
mapping, the MRR refresh or an export for every customer. So an object is
checked once where it enters the store (:func:`object_problem`) and every epoch
becomes a date through :func:`epoch_to_date`, which raises :class:`OutOfRange`
(a ``ValueError``) instead of whatever ``datetime`` happens to raise.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

# Far above any amount or quantity Stripe accepts (12 digits), far below what
# SQLite's int64 holds, so sums and products of a customer's amounts still fit.
MAX_ABS_NUMBER = 10**15
# 0001-01-01 .. 9999-12-31T23:59:59Z: what a Python date (and every warehouse) can hold.
MIN_EPOCH = -62_135_596_800
MAX_EPOCH = 253_402_300_799

# Keys whose integer value is a Unix time in Stripe's objects.
_TIME_KEYS = frozenset({"created", "start", "end", "date"})
_TIME_SUFFIXES = ("_at", "_start", "_end", "_date", "_anchor")

# A JSON text whose numbers have at most 10 digits and no exponent holds no number near
# either bound (the earliest epoch has 11 digits, the latest 12): most objects are cleared
# by one regex instead of a walk. Only numbers count: a JSON number follows ":", "[" or
# ",", while ids such as "il_1e9X" (a digit, then an "e") are strings.
_SUSPECT = re.compile(r"[:\[,]\s*-?\d(?:\d{10}|[\d.]*[eE])|NaN|Infinity")


class OutOfRange(ValueError):
    """A number or date outside what the store, the MRR engine or a date can hold."""


def epoch_to_datetime(epoch: Any) -> datetime:
    """A Unix time as an aware UTC datetime; OutOfRange outside years 1..9999 or for a non-number."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
        raise OutOfRange(f"not a Unix time: {epoch!r}")
    if not MIN_EPOCH <= epoch <= MAX_EPOCH:
        raise OutOfRange(f"date out of range: {epoch!r} is not in years 1..9999")
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def epoch_to_date(epoch: Any) -> date:
    """The UTC day of a Unix time; OutOfRange outside years 1..9999 or for a non-number."""
    if type(epoch) is int and MIN_EPOCH <= epoch <= MAX_EPOCH:
        # the common case by day arithmetic: the segment builder converts hundreds of thousands
        return date.fromordinal(_EPOCH_ORDINAL + epoch // 86_400)
    return epoch_to_datetime(epoch).date()


def _is_time_key(key: str) -> bool:
    return key in _TIME_KEYS or key.endswith(_TIME_SUFFIXES)


def _walk(value: Any, path: str) -> str | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if isinstance(item, float) and not math.isfinite(item):
                    return f"number out of range at {where}: {item!r}"
                if _is_time_key(str(key)) and not MIN_EPOCH <= item <= MAX_EPOCH:
                    return f"date out of range at {where}: {item!r} is not in years 1..9999"
                if abs(item) > MAX_ABS_NUMBER:
                    return f"number out of range at {where}: {item!r}"
            elif isinstance(item, (Mapping, list)):
                problem = _walk(item, where)
                if problem:
                    return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if (isinstance(item, float) and not math.isfinite(item)) or abs(item) > MAX_ABS_NUMBER:
                    return f"number out of range at {where}: {item!r}"
            elif isinstance(item, (Mapping, list)):
                problem = _walk(item, where)
                if problem:
                    return problem
    return None


def object_problem(obj: Any, text: str | None = None) -> str | None:
    """Why ``obj`` cannot be stored or mapped, or None. ``text``: its JSON, when already made."""
    if not isinstance(obj, Mapping):
        return f"not an object: a JSON {type(obj).__name__}"
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not object_id:
        return "no id" if object_id in (None, "") else f"id is not a string: {object_id!r}"
    if text is not None and not _SUSPECT.search(text):
        return None
    return _walk(obj, "")


# Digits an integer needs to reach either bound: 12 (MAX_EPOCH has 12; "-" and MIN_EPOCH's 11
# digits make 12 characters too); MAX_ABS_NUMBER is further out still.
_SUSPECT_NUMBER_CHARS = 12


class _CheckingDecoder(json.JSONDecoder):
    """``json.loads`` whose number hooks flag a number that may be out of range (one per thread)."""

    def __init__(self) -> None:
        super().__init__(parse_int=self._int, parse_float=self._float, parse_constant=self._constant)
        self.suspect = False

    def _int(self, text: str) -> int:
        if len(text) >= _SUSPECT_NUMBER_CHARS:
            self.suspect = True
        return int(text)

    def _float(self, text: str) -> float:
        if len(text) >= _SUSPECT_NUMBER_CHARS or "e" in text or "E" in text:
            self.suspect = True
        return float(text)

    def _constant(self, text: str) -> float:
        self.suspect = True     # NaN, Infinity, -Infinity
        return float(text)


_decoders = threading.local()


def loads_checked(text: str) -> tuple[Any, str | None]:
    """``(json.loads(text), object_problem of it)``, the number check made by the parser itself.

    Scanning the text with a regex (``object_problem(obj, text)``) costs several times the
    parse; the parser's number hooks see every number anyway, and only an object with a
    long or exponent number is walked."""
    decoder = getattr(_decoders, "decoder", None)
    if decoder is None:
        decoder = _decoders.decoder = _CheckingDecoder()
    decoder.suspect = False
    obj = decoder.decode(text)
    if decoder.suspect or not isinstance(obj, Mapping) or not obj.get("id") or not isinstance(obj["id"], str):
        return obj, object_problem(obj)
    return obj, None
