"""Hold a response body to Stripe's definitions (``stripe_schema``): every field, every level.

``ResponseChecker.check_body(body, object_name, expand, is_list)`` walks a JSON body
with the SDK type of each field and records a ``Problem`` for:

* a field the SDK class does not declare (invented), or a required one missing;
* a value of the wrong JSON type, ``null`` where the field is never null, an enum
  value outside the SDK's ``Literal``;
* an expandable field sent expanded although the request did not expand it, or
  left an id although it did (expansion paths as Stripe reads them: ``data.`` on
  lists, ``a.b.c`` through nested objects, lists and ``ListObject.data``);
* a deleted object that is not exactly Stripe's ``deleted_<object>`` answer.

It counts the responses, objects and fields it checked, for the reports.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from stripe._error_object import ErrorObject
from stripe._object_classes import OBJECT_CLASSES

from tests.support.contract.stripe_schema import (
    declared_fields, deleted_fields, field_type, object_name_of, required_fields, resource_class,
)


@dataclass(frozen=True)
class Problem:
    where: str     # JSON path, e.g. "data[3].items.data[0].price.recurring.interval"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _strip(expand: frozenset, segment: str) -> frozenset:
    """The expansions that apply below ``segment`` (``a.b`` under ``a`` is ``b``)."""
    prefix = segment + "."
    return frozenset(path[len(prefix):] for path in expand if path.startswith(prefix))


@dataclass
class ProblemLog:
    """What a checker found, one ``Problem`` per finding."""

    problems: list[Problem] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def summary(self) -> list[str]:
        """The problems grouped by field (array positions folded): ``"12x $.data[].x: why"``."""
        counts = Counter((re.sub(r"\[\d+\]", "[]", p.where), p.message) for p in self.problems)
        return [f"{n}x {where}: {message}" for (where, message), n in sorted(counts.items())]


@dataclass
class ResponseChecker(ProblemLog):
    responses: int = 0
    objects: int = 0
    fields: int = 0
    expanded_seen: set = field(default_factory=set)  # (object class name, field) actually sent expanded
    object_types: Counter = field(default_factory=Counter)  # `object` value -> objects of it checked

    # -- entry points -----------------------------------------------------------------------
    def check_body(self, body: dict, object_name: str, expand=(), is_list: bool = False) -> None:
        """One response: a list of ``object_name`` objects, or one of them."""
        self.responses += 1
        expand = frozenset(expand)
        if is_list:
            self.check_list(body, (resource_class(object_name),), expand, "$")
        else:
            self.check_object(body, (resource_class(object_name),), expand, "$")
        if object_name == "event":
            events = body.get("data") if is_list else [body]
            for index, event in enumerate(events if isinstance(events, list) else []):
                self.check_event_data(event, f"$.data[{index}]" if is_list else "$")

    def check_error(self, body: Any) -> None:
        """An error answer: exactly ``{"error": {...}}``, the inner object Stripe's ``ErrorObject``."""
        self.responses += 1
        if not isinstance(body, dict) or set(body) != {"error"}:
            self.fail("$", f"an error answer is exactly {{'error': {{...}}}}, got keys {sorted(body or {})}")
            return
        self.check_object(body["error"], (ErrorObject,), frozenset(), "$.error")

    def check_event_data(self, event: dict, where: str) -> None:
        """The SDK types ``data.object`` loosely; Stripe sends the full object of its own type,
        never expanded, and ``previous_attributes`` holds old values of that object's fields."""
        data = event.get("data") if isinstance(event, dict) else None
        snapshot = data.get("object") if isinstance(data, dict) else None
        if not isinstance(snapshot, dict) or snapshot.get("object") not in OBJECT_CLASSES:
            self.fail(f"{where}.data.object", "expected a Stripe object with a known `object` type")
            return
        cls = resource_class(snapshot["object"])
        self.check_object(snapshot, (cls,), frozenset(), f"{where}.data.object")
        previous = data.get("previous_attributes")
        if isinstance(previous, dict):
            declared = declared_fields(cls)
            for name, value in previous.items():
                if name not in declared:
                    self.fail(f"{where}.data.previous_attributes.{name}", f"not a field of {cls.__qualname__}")
                    continue
                self.fields += 1
                self.check_value(value, declared[name], name, frozenset(), f"{where}.data.previous_attributes.{name}",
                                 cls)

    def check_list(self, body: Any, item_classes: tuple, expand: frozenset, where: str) -> None:
        """A ``ListObject``: exactly ``object``, ``data``, ``has_more``, ``url``."""
        if not isinstance(body, dict):
            self.fail(where, f"expected a list object, got {type(body).__name__}")
            return
        keys = set(body)
        for missing in sorted({"object", "data", "has_more", "url"} - keys):
            self.fail(where, f"list lacks required field {missing!r}")
        for extra in sorted(keys - {"object", "data", "has_more", "url"}):
            self.fail(f"{where}.{extra}", "field not declared by the SDK's ListObject")
        if body.get("object") != "list":
            self.fail(f"{where}.object", f"expected 'list', got {body.get('object')!r}")
        if not isinstance(body.get("has_more"), bool):
            self.fail(f"{where}.has_more", "expected a boolean")
        if not isinstance(body.get("url"), str):
            self.fail(f"{where}.url", "expected a string")
        data = body.get("data")
        if not isinstance(data, list):
            self.fail(f"{where}.data", "expected an array")
            return
        below = _strip(expand, "data")
        for index, item in enumerate(data):
            self.check_object(item, item_classes, below, f"{where}.data[{index}]")

    def check_object(self, value: Any, classes: tuple, expand: frozenset, where: str) -> None:
        if not isinstance(value, dict):
            self.fail(where, f"expected an object, got {type(value).__name__}")
            return
        cls = self._pick_class(value, classes, where)
        if cls is None:
            return
        self.objects += 1
        if object_name_of(cls):
            self.object_types["deleted " * bool(value.get("deleted")) + object_name_of(cls)] += 1
        if value.get("deleted") is True and object_name_of(cls):
            self._check_deleted(value, cls, where)
            return
        declared, required = declared_fields(cls), required_fields(cls)
        for name in sorted(required - set(value)):
            self.fail(f"{where}.{name}", f"required field missing from {cls.__qualname__}")
        for name, item in value.items():
            hint = declared.get(name)
            if hint is None:
                self.fail(f"{where}.{name}", f"field not declared by the SDK's {cls.__qualname__} (invented)")
                continue
            if name not in required and object_name_of(cls) and name not in expand and not _strip(expand, name):
                # includable fields (price.tiers, invoice.payments) come only when expanded
                self.fail(f"{where}.{name}", f"optional field of {cls.__qualname__} sent although not expanded")
            self.fields += 1
            self.check_value(item, hint, name, expand, f"{where}.{name}", cls)

    def _pick_class(self, value: dict, classes: tuple, where: str) -> type | None:
        if len(classes) == 1 and object_name_of(classes[0]) is None:
            return classes[0]  # a nested object: it has no `object` of its own
        by_name = {object_name_of(c): c for c in classes}
        cls = by_name.get(value.get("object"))
        if cls is None:
            self.fail(f"{where}.object", f"expected one of {sorted(by_name)}, got {value.get('object')!r}")
        return cls

    def _check_deleted(self, value: dict, cls: type, where: str) -> None:
        allowed = deleted_fields(object_name_of(cls))
        if allowed is None:
            self.fail(where, f"{object_name_of(cls)} has no deleted form in Stripe's definitions")
            return
        self.fields += len(value)
        if set(value) != allowed:
            self.fail(where, f"a deleted {object_name_of(cls)} carries exactly {sorted(allowed)}, got {sorted(value)}")

    # -- one value --------------------------------------------------------------------------
    def check_value(self, value: Any, hint: Any, name: str, expand: frozenset, where: str, owner: type) -> None:
        ft = field_type(hint)
        if value is None:
            if not ft.nullable and ft.kind != "any":
                self.fail(where, "null where the SDK declares a non-null value")
            return
        below = _strip(expand, name)
        if ft.kind == "expandable":
            # expanding `a.b` expands `a` too: Stripe expands every level of a path
            asked = name in expand or bool(below)
            self._check_expandable(value, ft, asked, below, where, owner, name)
        elif ft.kind == "enum":
            if value not in ft.enum:
                self.fail(where, f"{value!r} is not one of the SDK's values {sorted(map(str, ft.enum))}")
        elif ft.kind == "scalar":
            self._check_scalar(value, ft.scalar, where)
        elif ft.kind == "object":
            self.check_object(value, ft.targets, below, where)
        elif ft.kind == "list":
            if not isinstance(value, list):
                self.fail(where, f"expected an array, got {type(value).__name__}")
                return
            for index, item in enumerate(value):
                self.check_value(item, ft.item, name, expand, f"{where}[{index}]", owner)
        elif ft.kind == "list_object":
            target = field_type(ft.item)
            self.check_list(value, target.targets, below, where)
        elif ft.kind == "map":
            if not isinstance(value, dict):
                self.fail(where, f"expected an object (map), got {type(value).__name__}")
                return
            for key, item in value.items():
                if field_type(ft.item).kind != "any":
                    self.check_value(item, ft.item, key, frozenset(), f"{where}.{key}", owner)
        elif ft.kind == "union":
            trial = ResponseChecker()
            for alternative in ft.alternatives:
                trial.problems = []
                trial.check_value(value, alternative, name, expand, where, owner)
                if not trial.problems:
                    return
            self.fail(where, f"matches none of {ft.alternatives}")

    def _check_expandable(self, value, ft, asked: bool, below: frozenset, where: str, owner: type, name: str) -> None:
        if isinstance(value, str):
            if asked:
                self.fail(where, "expansion was requested but the field came back as an id")
            return
        if not asked:
            self.fail(where, "sent expanded although the request did not expand it (Stripe sends the id)")
            return
        self.expanded_seen.add((owner.__qualname__, name))
        self.check_object(value, ft.targets, below, where)

    def _check_scalar(self, value: Any, scalar: type, where: str) -> None:
        if scalar is bool:
            ok = isinstance(value, bool)
        elif scalar is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif scalar is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif scalar is Decimal:
            ok = isinstance(value, str) and _is_decimal(value)
        else:
            ok = isinstance(value, str)
        if not ok:
            self.fail(where, f"expected {scalar.__name__} ({'decimal string' if scalar is Decimal else 'JSON'}), "
                             f"got {value!r}")


def _is_decimal(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
