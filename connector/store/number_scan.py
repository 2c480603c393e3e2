"""What the numbers of a JSON text may be, read off the text without parsing it.

Walking a parsed object to check its numbers costs ten times a few scans of its
text, and almost every text holds only short numbers: the scans clear it. The
text is *folded* first (every digit to ``0``, ``E`` to ``e``), so that one search
finds any run of digits of a given length and any exponent. A string that looks
like such a number (an 11-digit phone number, an id "in_1e5a") only costs the
caller its slower path, never a wrong answer.
"""

from __future__ import annotations

# Digits to 0 (runs of digits), E to e and + to - (exponents: "0e-" finds 1e-7 and 1e+16 in one
# search; a + before a value can only be inside a string), and DEL and every byte of a non-ASCII
# character to 0x80: the one byte ``jsontext`` looks for where ``json.dumps`` writes an escape
# orjson does not. Each search of a text costs about a nanosecond a byte, one for a single byte
# (memchr) a tenth of that: the checks ask as few questions as they can.
FOLD = bytes.maketrans(b"123456789E+" + bytes(range(0x7F, 0x100)), b"000000000e-" + b"\x80" * (0x100 - 0x7F))
ESCAPED = b"\x80"
ELEVEN_DIGITS = b"0" * 11     # a number that long may be past the value bounds (values.MAX_ABS_NUMBER, dates)

_NUMBER_PART = frozenset(b"0.")            # of a number before its exponent, folded
_JSON_SPACE = frozenset(b" \t\r\n\f\v")
_BEFORE_VALUE = frozenset(b":,[")          # what a value in an object or a list follows


def has_exponent(folded: bytes) -> bool:
    """Whether the folded text holds a number with an exponent (``1e5``, ``-2.5E-7``, ``3e+20``):
    a digit then ``e`` (after folding) that ends a number following ``:``, ``,`` or ``[``, or
    starting the text. An id or a word with a digit before an ``e`` ("in_1e5a", "ABE4341E-0026")
    is looked at and passed over: the digits before its ``e`` follow a letter."""
    at = folded.find(b"0e")
    while at >= 0:
        start = at
        while start and folded[start - 1] in _NUMBER_PART:
            start -= 1
        if start and folded[start - 1] == 0x2D:   # a minus sign
            start -= 1
        while start and folded[start - 1] in _JSON_SPACE:
            start -= 1
        if start == 0 or folded[start - 1] in _BEFORE_VALUE:   # a value, or the text is that number
            return True
        at = folded.find(b"0e", at + 2)
    return False


def may_hold_long_number(folded: bytes) -> bool:
    """Whether the folded text may hold a number of 11 digits or more, or one with an exponent
    (NaN and Infinity are not numbers a folded text shows: the caller looks for them if it can meet them)."""
    return ELEVEN_DIGITS in folded or has_exponent(folded)
