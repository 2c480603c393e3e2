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


class NonFinite(float):
    """``NaN`` or ``±Infinity`` read from a body (JSON has no such numbers; a broken server sends them)."""


_DIGITS = bytes.maketrans(b"123456789", b"000000000")
# nineteen digits in a row: maybe an integer orjson would turn into a float (-9223372036854775809,
# one below the smallest 64-bit integer, has 19; the largest unsigned one has 20)
_LONG_NUMBER = b"0" * 19
# Where orjson writes a small float otherwise than json.dumps (1e-7 and 0.00001 against 1e-07 and
# 1e-05): the standard library writes those texts. Searched only when a cheap test finds a candidate;
# a string that merely looks like one ("re-send") only costs the slower writer.
_SMALL_FLOAT = re.compile(rb"\de-|(?:^|[:,\[])-?0\.0000")
# What json.dumps(ensure_ascii=True) escapes and orjson writes as it is: DEL and every non-ASCII character.
_UNESCAPED = re.compile("[\x7f-\U0010ffff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if code > 0xFFFF:   # as json.dumps writes it: a surrogate pair
        code -= 0x10000
        return "\\u%04x\\u%04x" % (0xD800 | (code >> 10), 0xDC00 | (code & 0x3FF))
    return "\\u%04x" % code


def loads(body: bytes | bytearray | str) -> Any:
    """A JSON text as Python values; raises ValueError (not JSON) or RecursionError (nested too deep)."""
    raw = bytes(body) if isinstance(body, (bytes, bytearray)) else body.encode("utf-8", "surrogatepass")
    if _LONG_NUMBER not in raw.translate(_DIGITS):
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
    try:
        text = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:   # orjson.JSONEncodeError: a value only the standard library writes
        return _standard(obj)
    if (b"e-" in text or b"0.0000" in text) and _SMALL_FLOAT.search(text):
        return _standard(obj)
    if text.isascii() and b"\x7f" not in text:
        return text.decode("ascii")
    # non-ASCII characters only occur inside strings, where json.dumps writes them as \\uXXXX
    return _UNESCAPED.sub(_escape, text.decode("utf-8"))
