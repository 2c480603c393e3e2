"""Stripe's form encoding, decoded: ``metadata[k]=v``, ``expand[]=a``, ``items[0][quantity]=2``.

The SDK sends lists as ``expand[0]=..`` or ``expand[]=..`` and dicts as ``a[b]=..``;
``parse_params`` rebuilds the nested dicts and lists the API handlers read.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def _is_index(segment: str) -> bool:
    return segment == "" or segment.isdigit()


def _assign(container, segments: list[str], value: str) -> None:
    head, rest = segments[0], segments[1:]
    if isinstance(container, list):
        index = len(container) if head == "" else int(head)
        while len(container) <= index:
            container.append(None)
        if not rest:
            container[index] = value
            return
        if container[index] is None:
            container[index] = [] if _is_index(rest[0]) else {}
        _assign(container[index], rest, value)
        return
    if not rest:
        container[head] = value
        return
    if not isinstance(container.get(head), (dict, list)):
        container[head] = [] if _is_index(rest[0]) else {}
    _assign(container[head], rest, value)


def parse_params(pairs: list[tuple[str, str]]) -> dict:
    params: dict = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            params[key] = value
            continue
        segments = [match.group(1)] + _SEGMENT.findall(match.group(2))
        _assign(params, segments, value)
    for name, value in list(params.items()):
        if isinstance(value, list):
            params[name] = [v for v in value if v is not None]
    return params
