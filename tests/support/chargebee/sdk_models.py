"""Chargebee's own definitions, read from the official SDK's typed models (chargebee 3.x).

``problems(resource, obj)`` lists every way ``obj`` departs from
``chargebee/models/<resource>/responses.py``: a field the model does not
declare, a value of the wrong type, an enum value the SDK does not know
(``chargebee/models/<resource>/operations.py`` nested enums, then
``chargebee/models/enums.py``). Two things every Chargebee response carries
that the models leave out are allowed: ``object`` (the type name) and ``cf_*``
custom fields on top-level objects.
"""

from __future__ import annotations

import importlib
import typing
from enum import Enum
from typing import Any

from chargebee.models import enums as global_enums


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def _singular(name: str) -> str:
    if name.endswith("xes"):
        return name[:-2]
    return name[:-1] if name.endswith("s") else name


def response_model(resource: str):
    module = importlib.import_module(f"chargebee.models.{resource}.responses")
    return getattr(module, f"{_camel(resource)}Response")


def list_entry_model(resource: str):
    module = importlib.import_module(f"chargebee.models.{resource}.responses")
    return getattr(module, f"List{_camel(resource)}Response")


def _operations(resource: str):
    module = importlib.import_module(f"chargebee.models.{resource}.operations")
    return getattr(module, _camel(resource))


def _enum(resource: str, parents: list[str], field: str) -> type[Enum] | None:
    ops = _operations(resource)
    names = [_camel(_singular(parents[-1])) + _camel(field)] if parents else [_camel(field)]
    for name in names:
        candidate = getattr(ops, name, None)
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    candidate = getattr(global_enums, _camel(field), None)
    return candidate if isinstance(candidate, type) and issubclass(candidate, Enum) else None


def _type_ok(value: Any, hint: Any) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    origin = typing.get_origin(hint)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if origin is list:
        return isinstance(value, list)
    if hasattr(hint, "__dataclass_fields__"):
        return isinstance(value, dict)
    return True   # Any


def problems(resource: str, obj: dict[str, Any], model=None, parents: list[str] | None = None) -> list[str]:
    model = model or response_model(resource)
    parents = parents or []
    where = ".".join([resource, *parents])
    hints = typing.get_type_hints(model)
    found = []
    for key, value in obj.items():
        if key == "object" or (key.startswith("cf_") and not parents):
            continue
        if key not in hints or key == "raw_data":
            found.append(f"{where}: field {key!r} is not in the SDK's {model.__name__}")
            continue
        hint = hints[key]
        if value is None:
            found.append(f"{where}.{key}: null (Chargebee leaves absent fields out)")
            continue
        if not _type_ok(value, hint):
            found.append(f"{where}.{key}: {type(value).__name__} where the SDK declares {hint}")
            continue
        if typing.get_origin(hint) is list:
            (inner,) = typing.get_args(hint) or (None,)
            if inner is not None and hasattr(inner, "__dataclass_fields__"):
                for element in value:
                    if not isinstance(element, dict):
                        found.append(f"{where}.{key}: element {element!r} is not an object")
                    else:
                        found += problems(resource, element, inner, [*parents, key])
            continue
        if hasattr(hint, "__dataclass_fields__"):
            found += problems(resource, value, hint, [*parents, key])
            continue
        if isinstance(value, str):
            enum = _enum(resource, parents, key)
            if enum is not None and value not in {m.value for m in enum}:
                found.append(f"{where}.{key}: {value!r} is not one of the SDK's {enum.__name__} values")
    return found


def entry_problems(resource: str, entry: dict[str, Any]) -> list[str]:
    """A list entry (``{"subscription": {...}, "customer": {...}}``) against the SDK's List*Response."""
    hints = typing.get_type_hints(list_entry_model(resource))
    found = [f"list entry key {k!r} not in the SDK's list response" for k in entry if k not in hints]
    if resource not in entry:
        found.append(f"list entry lacks {resource!r}")
    for key, value in entry.items():
        if key in hints:
            found += problems(key, value)
    return found
