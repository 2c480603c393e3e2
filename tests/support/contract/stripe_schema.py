"""Stripe's own definitions of the pinned API version, read from the official SDK and its fixtures.

Nothing here is written by hand: every shape comes from one of two sources that
Stripe generates from its OpenAPI spec.

* The ``stripe`` SDK (16.x, pinned to the same API version as the connector):
  its resource classes declare every field with a type (``typing.get_type_hints``):
  ``Literal[...]`` enums (the SDK adds ``| str`` for forward compatibility; our
  own server gets no such leeway), ``Optional`` (nullable *or* not always sent:
  the SDK folds the two), nested ``StripeObject`` classes, ``ListObject[...]`` and
  ``ExpandableField[X]`` (``Union[str, X]``: an id unless expanded).
* ``fixtures/stripe/openapi/fixtures3.json`` (Stripe's canonical example of every
  object, copied from the openapi repository): each example carries exactly the
  fields the spec marks *required*, so its key set, and the key sets of the nested
  objects it shows, are the required fields. A field the fixture shows but the SDK
  does not declare (an older spec's leftover, e.g. ``invoice.subscription``) is
  neither required nor allowed: the SDK is the pinned version.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import typing
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import stripe
from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES
from stripe._stripe_object import StripeObject, UntypedStripeObject

FIXTURES_PATH = Path(__file__).resolve().parents[3] / "fixtures" / "stripe" / "openapi" / "fixtures3.json"
NONE_TYPE = type(None)


@lru_cache(maxsize=None)
def fixtures() -> dict[str, Any]:
    return json.loads(FIXTURES_PATH.read_text())["resources"]


@lru_cache(maxsize=None)
def _namespace(module_name: str) -> dict[str, Any]:
    """A generated module's globals plus its ``if TYPE_CHECKING:`` imports (where forward refs point)."""
    module = importlib.import_module(module_name)
    # a few generated modules name a base class in a string without importing it
    namespace = {"StripeObject": StripeObject, "UntypedStripeObject": UntypedStripeObject, "ListObject": ListObject}
    namespace.update(vars(module))
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            exec(compile(ast.Module(body=node.body, type_ignores=[]), module_name, "exec"), namespace)
    return namespace


def resource_class(object_name: str) -> type:
    """The SDK class of an API object by its ``object`` value (``"subscription"``, ``"line_item"``)."""
    module_name, class_name = OBJECT_CLASSES[object_name]
    return getattr(importlib.import_module(module_name), class_name)


@lru_cache(maxsize=None)
def declared_fields(cls: type) -> dict[str, Any]:
    """JSON field name -> resolved type hint, for every field the SDK class declares."""
    hints = typing.get_type_hints(cls, globalns=_namespace(cls.__module__))
    remapped = getattr(cls, "_field_remappings", {})  # python keywords: ``from_`` is JSON's ``from``
    fields = {}
    for name, hint in hints.items():
        if name.startswith("_") or typing.get_origin(hint) is typing.ClassVar:
            continue
        fields[remapped.get(name, name)] = hint
    return fields


def is_stripe_object(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, StripeObject)


def object_name_of(cls: type) -> str | None:
    """The ``object`` value of a top-level resource class (nested classes have none)."""
    name = getattr(cls, "OBJECT_NAME", None)
    return name if isinstance(name, str) else None


@dataclass(frozen=True)
class FieldType:
    """One field's hint, taken apart into what a validator needs."""

    nullable: bool
    kind: str                  # scalar | enum | expandable | object | list | list_object | map | any | union
    scalar: type | None = None  # str, int, float, bool, Decimal
    enum: frozenset = frozenset()
    targets: tuple = ()        # expandable: the resource classes it expands to; object: (cls,)
    item: Any = None           # list / list_object / map: the element hint
    alternatives: tuple = ()   # union of anything else


def field_type(hint: Any) -> FieldType:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or (origin is not None and origin.__name__ == "UnionType"):
        members = [a for a in args if a is not NONE_TYPE]
        nullable = len(members) != len(args)
        literals = [m for m in members if typing.get_origin(m) is typing.Literal]
        objects = [m for m in members if is_stripe_object(m)]
        if str in members and objects and len(objects) + 1 == len(members):
            return FieldType(nullable, "expandable", targets=tuple(objects))
        if objects and len(objects) == len(members) > 1:
            return FieldType(nullable, "object", targets=tuple(objects))  # one of several object types
        if literals and all(m is str or m in literals for m in members):
            values = frozenset(v for lit in literals for v in typing.get_args(lit))
            return FieldType(nullable, "enum", enum=values)
        if len(members) == 1:
            inner = field_type(members[0])
            return FieldType(nullable or inner.nullable, inner.kind, inner.scalar, inner.enum, inner.targets,
                             inner.item, inner.alternatives)
        return FieldType(nullable, "union", alternatives=tuple(members))
    if origin is typing.Literal:
        return FieldType(False, "enum", enum=frozenset(args))
    if origin in (list, typing.List):
        return FieldType(False, "list", item=args[0])
    if origin in (dict, typing.Dict):
        return FieldType(False, "map", item=args[1])
    if origin is not None and isinstance(origin, type) and issubclass(origin, ListObject):
        return FieldType(False, "list_object", item=args[0])
    if origin is not None and isinstance(origin, type) and issubclass(origin, UntypedStripeObject):
        return FieldType(False, "map", item=args[0])
    if hint is Any:
        return FieldType(True, "any")
    if is_stripe_object(hint):
        return FieldType(False, "object", targets=(hint,))
    if hint in (str, int, float, bool, Decimal):
        return FieldType(False, "scalar", scalar=hint)
    raise TypeError(f"unhandled SDK type hint {hint!r}")


# -- required fields, from the fixtures ---------------------------------------------------------
def _walk_examples(cls: type, example: dict, found: dict[type, list[frozenset]]) -> None:
    found.setdefault(cls, []).append(frozenset(example))
    fields = declared_fields(cls)
    for name, value in example.items():
        if name not in fields:
            continue
        ft = field_type(fields[name])
        nested = []
        if ft.kind == "object" and isinstance(value, dict):
            nested = [(ft.targets[0], value)]
        elif ft.kind == "expandable" and isinstance(value, dict):
            nested = [(c, value) for c in ft.targets if object_name_of(c) == value.get("object")]
        elif ft.kind == "list" and isinstance(value, list):
            inner = field_type(ft.item)
            if inner.kind in ("object", "expandable"):
                nested = [(c, v) for v in value if isinstance(v, dict) for c in inner.targets
                          if inner.kind == "object" or object_name_of(c) == v.get("object")]
        elif ft.kind == "list_object" and isinstance(value, dict):
            target = field_type(ft.item)
            nested = [(c, v) for v in value.get("data") or [] for c in target.targets
                      if target.kind == "object" or object_name_of(c) == v.get("object")]
        for nested_cls, nested_value in nested:
            _walk_examples(nested_cls, nested_value, found)


@lru_cache(maxsize=None)
def _examples() -> dict[type, frozenset]:
    """Class -> the fields every fixture example of it carries (the spec's required set)."""
    found: dict[type, list[frozenset]] = {}
    own: dict[type, frozenset] = {}
    for object_name, example in fixtures().items():
        if object_name in OBJECT_CLASSES and not example.get("deleted"):
            own[resource_class(object_name)] = frozenset(example)
            _walk_examples(resource_class(object_name), example, found)
    # a resource's own example is its required set; objects nested in other examples may be
    # abridged, so a nested class (no example of its own) takes what all its examples share
    return {cls: own.get(cls) or frozenset.intersection(*sets) for cls, sets in found.items()}


def required_fields(cls: type) -> frozenset:
    """Fields a response must carry: the fixtures' required set where Stripe shows the object,
    else (a nested object no fixture shows) the fields the SDK types as never null."""
    declared = declared_fields(cls)
    example = _examples().get(cls)
    if example is not None:
        return frozenset(name for name in example if name in declared)
    return frozenset(name for name, hint in declared.items() if not field_type(hint).nullable)


def deleted_fields(object_name: str) -> frozenset | None:
    """The fields of Stripe's ``deleted_<object>`` answer (``id``, ``object``, ``deleted``), if it has one."""
    example = fixtures().get(f"deleted_{object_name}")
    return frozenset(example) if example is not None else None


def stripe_api_version() -> str:
    return stripe.api_version
