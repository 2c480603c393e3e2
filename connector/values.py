"""Values from upstream checked before anything stores, dates or adds them.

Stripe never sends an amount above 12 digits or a date past year 9999, but a
proxy, a fake or a future API version might; one such value must not crash the
mapping, the MRR refresh or an export for every customer. So an object is
checked once where it enters the store (:func:`object_problem`) and every epoch
becomes a date through :func:`epoch_to_date`, which raises :class:`OutOfRange`
(a ``ValueError``) instead of whatever ``datetime`` happens to raise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

import orjson

from .store import jsontext
from .store.number_scan import ELEVEN_DIGITS, FOLD, has_exponent, may_hold_long_number

# Far above any amount or quantity Stripe accepts (12 digits), far below what
# SQLite's int64 holds, so sums and products of a customer's amounts still fit.
MAX_ABS_NUMBER = 10**15
# 0001-01-01 .. 9999-12-31T23:59:59Z: what a Python date (and every warehouse) can hold.
MIN_EPOCH = -62_135_596_800
MAX_EPOCH = 253_402_300_799

# Keys whose integer value is a Unix time in Stripe's objects.
_TIME_KEYS = frozenset({"created", "start", "end", "date"})
_TIME_SUFFIXES = ("_at", "_start", "_end", "_date", "_anchor")


def _suspect(text: str | bytes) -> bool:
    """Whether the text (or its UTF-8) may hold a number past the bounds (a long number, an exponent,
    NaN, Infinity): a text whose numbers all have fewer than 11 digits and no exponent holds no
    number near either bound (``number_scan``)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return b"NaN" in raw or b"Infinity" in raw or may_hold_long_number(raw.translate(FOLD))


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


def _is_mapping(value: Any) -> bool:
    return isinstance(value, dict) or isinstance(value, Mapping)   # dict first: the ABC check is slow


def _walk(value: Any, path: str) -> str | None:
    if _is_mapping(value):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if isinstance(item, float) and not math.isfinite(item):
                    return f"number out of range at {where}: {item!r}"
                if _is_time_key(str(key)) and not MIN_EPOCH <= item <= MAX_EPOCH:
                    return f"date out of range at {where}: {item!r} is not in years 1..9999"
                if abs(item) > MAX_ABS_NUMBER:
                    return f"number out of range at {where}: {item!r}"
            elif isinstance(item, (dict, list)) or isinstance(item, Mapping):
                problem = _walk(item, where)
                if problem:
                    return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if (isinstance(item, float) and not math.isfinite(item)) or abs(item) > MAX_ABS_NUMBER:
                    return f"number out of range at {where}: {item!r}"
            elif isinstance(item, (dict, list)) or isinstance(item, Mapping):
                problem = _walk(item, where)
                if problem:
                    return problem
    return None


def identity_problem(obj: Any) -> str | None:
    """Why ``obj`` cannot even be keyed (not an object, no string id), or None."""
    if not _is_mapping(obj):
        return f"not an object: a JSON {type(obj).__name__}"
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not object_id:
        return "no id" if object_id in (None, "") else f"id is not a string: {object_id!r}"
    return None


def object_problem(obj: Any, text: str | bytes | None = None) -> str | None:
    """Why ``obj`` cannot be stored or mapped, or None. ``text``: its canonical JSON (or that text's
    UTF-8), when already made (the walk is then skipped for the objects whose text shows no suspect
    number)."""
    problem = identity_problem(obj)
    if problem is not None:
        return problem
    if text is not None and not _suspect(text):
        return None
    return number_problem(obj)


def number_problem(obj: Any) -> str | None:
    """Why a number or a date in ``obj`` cannot be stored or mapped, or None: the walk of every value
    (:func:`object_problem` without the identity check or the shortcut)."""
    return _walk(obj, "")


def parsed_object(data: bytes) -> tuple[Any, str | None]:
    """A stored object's UTF-8 JSON text parsed, and why it cannot be mapped (or None): the same
    as ``jsontext.loads(data)`` then ``object_problem(obj, data)``, for a third of the scans.

    The mapping reads every stored object, so the text is folded once for both: a text without
    a run of 11 digits holds no integer orjson would read otherwise than the standard library
    (those have 19 digits or more), and a text orjson parsed holds no ``NaN`` or ``Infinity``
    (orjson refuses them: such a text is read by ``jsontext.loads``, which reads them as
    NonFinite, and walked).
    """
    folded = data.translate(FOLD)
    if ELEVEN_DIGITS not in folded:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            problem = identity_problem(obj)
            if problem is None and has_exponent(folded):
                problem = _walk(obj, "")
            return obj, problem
    obj = jsontext.loads(data)
    return obj, identity_problem(obj) or _walk(obj, "")


def checked_object(data: bytes) -> tuple[Any, str | None]:
    """:func:`parsed_object` of a text whose object passed :func:`object_problem` when that very text
    was written (the sync's own rows, ``store.checked_seqs``): only parsed, not checked again.

    Such a text holds no number orjson reads otherwise than the standard library: every number
    in it is finite and at most ``MAX_ABS_NUMBER`` (an integer of 16 digits, a float as Python
    writes it: at most 17 significant digits); a long run of digits can only be inside a string.
    A text orjson refuses (a lone surrogate) is read by :func:`parsed_object`, checks and all.
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return parsed_object(data)
    return obj, identity_problem(obj)
