"""The store's JSON text, fast: each response parsed once, each stored object canonicalised once.

At thousands of objects a second the standard library's ``json`` was half of the
sync's CPU (parsing responses, then ``json.dumps(sort_keys=True)`` for every
object's canonical text). ``orjson`` does both several times faster, but differs
from the standard library at the edges; wherever it would, the standard library
decides, so the stored text is byte for byte what it always was (a store synced
before and after this change compares equal, and an unchanged object is still
recognised as unchanged):

* **reading** (:func:`loads`): orjson reads an integer past 64 bits (20 digits, or 19 below
  −2⁶³) as a
  float and refuses ``NaN``/``Infinity``, lone surrogates and nesting past 1,024;
  such bodies are read by ``json.loads``, whose ``NaN`` becomes a :class:`NonFinite`
  float, which orjson will not write (so the value checks still see ``NaN``);
* **writing** (:func:`canonical_json`): orjson writes UTF-8 and DEL unescaped (they
  are escaped here as ``json.dumps`` does) and small floats as ``1e-7`` / ``0.00001``
  where ``json.dumps`` writes ``1e-07``; a text holding such a float, or a value orjson
  refuses (an integer past 64 bits, a NonFinite, a lone surrogate, a non-string key),
  is written by ``json.dumps``.

A plain ``float('nan')`` built in Python (not read by :func:`loads`) would be
written as ``null`` by orjson: canonical texts are only made of values read by
:func:`loads` or computed from stored, checked objects.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from .number_scan import ELEVEN_DIGITS, ESCAPED, FOLD, has_exponent


class NonFinite(float):
    """``NaN`` or ``±Infinity`` read from a body (JSON has no such numbers; a broken server sends them)."""


# nineteen digits in a row: maybe an integer orjson would turn into a float (-9223372036854775809,
# one below the smallest 64-bit integer, has 19; the largest unsigned one has 20)
_LONG_NUMBER = b"0" * 19
# Where orjson writes a small float otherwise than json.dumps (1e-7 and 0.00001 against 1e-07 and
# 1e-05): the standard library writes those texts. Searched only when a cheap test finds a candidate;
# a string that merely looks like one ("re-send") only costs the slower writer.
_SMALL_FLOAT = re.compile(rb"\de-|(?:^|[:,\[])-?0\.0000")


def _escaped(run: str) -> str:
    """A run of characters json.dumps escapes and orjson does not (non-ASCII, DEL), escaped as
    ``json.dumps`` writes them (``\\u00e9``; past U+FFFF a surrogate pair)."""
    escaped = []
    for character in run:
        code = ord(character)
        if code > 0xFFFF:
            code -= 0x10000
            escaped.append("\\u%04x\\u%04x" % (0xD800 | (code >> 10), 0xDC00 | (code & 0x3FF)))
        else:
            escaped.append("\\u%04x" % code)
    return "".join(escaped)


_ESCAPED_BYTE = ESCAPED[0]


def _ascii_text(raw: bytes, folded: bytes, at: int) -> str:
    """orjson's UTF-8 ``raw`` with its runs of non-ASCII characters and DEL escaped as json.dumps
    escapes them; ``at``: where the first run starts (``folded``: ``raw`` under ``FOLD``, where every
    byte of such a run is ``ESCAPED``). Such runs occur only inside strings, and are short (Stripe's
    "1 × Plan"): the text between them is copied as it is, and the runs found by ``bytes.find``."""
    parts = []
    start = 0
    size = len(raw)
    while at >= 0:
        end = at + 1
        while end < size and folded[end] == _ESCAPED_BYTE:
            end += 1
        parts.append(raw[start:at].decode("ascii"))
        parts.append(_escaped(raw[at:end].decode("utf-8")))
        start = end
        at = folded.find(ESCAPED, end)
    parts.append(raw[start:].decode("ascii"))
    return "".join(parts)


def loads(body: bytes | bytearray | str) -> Any:
    """A JSON text as Python values; raises ValueError (not JSON) or RecursionError (nested too deep)."""
    raw = bytes(body) if isinstance(body, (bytes, bytearray)) else body.encode("utf-8", "surrogatepass")
    if _LONG_NUMBER not in raw.translate(FOLD):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass   # NaN, a lone surrogate, deep nesting or not JSON at all: the standard library decides
    return json.loads(body, parse_constant=NonFinite)


def _standard(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def canonical_json(obj: Any) -> str:
    """One text per value, so an unchanged object compares equal byte for byte (``json.dumps``'s,
    with sorted keys, no spaces and ASCII escapes)."""
    return canonical_text(obj)[0]


def canonical_text(obj: Any) -> tuple[str, bool]:
    """:func:`canonical_json`, and whether the text may hold a number of 11 digits or more, one with
    an exponent, ``NaN`` or ``Infinity`` (``number_scan``): False clears the object of the value
    checks' walk, from the one fold of the text both questions need."""
    try:
        raw = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:   # orjson.JSONEncodeError: a value only the standard library writes (NaN among them)
        return _standard(obj), True
    folded = raw.translate(FOLD)
    # orjson writes an exponent with its sign (1e-7, 1e+16, both "0e-" folded): one search clears
    # almost every text; what it finds is looked at by has_exponent
    exponent = b"0e-" in folded and has_exponent(folded)
    # a float orjson writes otherwise than json.dumps has an exponent or starts 0.0000
    if (exponent or b"0.0000" in raw) and _SMALL_FLOAT.search(raw):
        return _standard(obj), True
    unusual = exponent or ELEVEN_DIGITS in folded
    at = folded.find(ESCAPED)
    return (raw.decode("ascii") if at < 0 else _ascii_text(raw, folded, at)), unusual
