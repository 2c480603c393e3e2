"""Hold a request to Stripe's definitions: the endpoints and parameters the SDK's services know.

Every ``*Service`` class of the SDK (``stripe/_customer_service.py``, ...) has one
method per endpoint: ``self._request("get", "/v1/customers/{customer}", params=...)``
with ``params`` typed as a ``TypedDict`` (``CustomerListParams``) and the method's
return type naming the object (``ListObject[Customer]``). They are read with
``ast`` (no call is made), so ``endpoints()`` is Stripe's own table of
(method, path template) -> parameters and answer type.

``RequestChecker.check(method, path, query_pairs, stripe_version)`` records a
``Problem`` for a path no endpoint matches, a query parameter (or a key under
``created[...]``) the endpoint does not declare, a value of the wrong type or
outside the parameter's ``Literal``, an ``expand[]`` target that is not an
expandable field of the answer (``data.`` first on lists) or deeper than
Stripe's four levels, and a ``Stripe-Version`` header other than the pinned one.
"""

from __future__ import annotations

import ast
import re
import typing
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import stripe
from stripe._request_options import RequestOptions
from typing_extensions import is_typeddict

from tests.support.contract.response_check import ProblemLog
from tests.support.contract.stripe_schema import _namespace, declared_fields, field_type, required_fields, stripe_api_version

MAX_EXPAND_DEPTH = 4  # Stripe refuses an expansion more than four properties deep
_SDK_ROOT = Path(stripe.__file__).parent
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_QUERY_KEY = re.compile(r"^([a-z_0-9]+)((?:\[[^\[\]]*\])*)$")


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str          # "/v1/invoices/{invoice}/lines"
    params_class: str      # "InvoiceLineItemListParams"
    answer: str            # "ListObject[InvoiceLineItem]" or "Customer"
    module: str            # the service module, where the params class is imported from

    @cached_property
    def pattern(self) -> re.Pattern:
        return re.compile("^" + _PLACEHOLDER.sub("[^/]+", self.template) + "$")  # paths: letters, _ and /


def _template(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)):
        return node.func.value.value
    return None


def _annotation_name(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    text = ast.unparse(node).replace("'", "").replace('"', "")
    match = re.search(r"(\w+Params)\b", text)
    return match.group(1) if match else None


@lru_cache(maxsize=None)
def endpoints() -> tuple[Endpoint, ...]:
    found = []
    for path in sorted(_SDK_ROOT.rglob("_*_service.py")):
        if "v2" in path.relative_to(_SDK_ROOT).parts:
            continue  # v2 APIs: another request format altogether
        module = "stripe." + ".".join(path.relative_to(_SDK_ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            params = next((a for a in function.args.args + function.args.kwonlyargs if a.arg == "params"), None)
            for call in ast.walk(function):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "_request" and len(call.args) >= 2):
                    method, template = call.args[0], _template(call.args[1])
                    if isinstance(method, ast.Constant) and template:
                        answer = ast.unparse(function.returns).strip("\"'") if function.returns else ""
                        found.append(Endpoint(method.value.upper(), template,
                                              _annotation_name(params.annotation if params else None) or "",
                                              answer, module))
    return tuple(found)


def find_endpoint(method: str, path: str) -> Endpoint | None:
    """The endpoint a concrete path is; a literal segment beats a placeholder (``/v1/invoices/upcoming``)."""
    matches = [e for e in endpoints() if e.method == method and e.pattern.match(path)]
    matches.sort(key=lambda e: e.template.count("{"))
    return matches[0] if matches else None


@lru_cache(maxsize=None)
def params_fields(module: str, class_name: str) -> dict[str, Any]:
    """A params TypedDict's fields (name -> hint), the SDK's request options left out."""
    cls = _namespace(module)[class_name]
    own = type(class_name, (), {"__annotations__": {name: hint for name, hint in cls.__annotations__.items()
                                                    if name not in RequestOptions.__annotations__}})
    return _hints_of(own, cls.__module__)


def _hints_of(cls: type, module: str) -> dict[str, Any]:
    return typing.get_type_hints(cls, globalns=_namespace(module))


def answer_class(endpoint: Endpoint) -> tuple[type, bool]:
    """(resource class, is a list) of what the endpoint returns."""
    text = endpoint.answer
    is_list = text.startswith("ListObject[")
    name = text[len("ListObject["):-1] if is_list else text
    return _namespace(endpoint.module)[name], is_list


def _unwrap(hint: Any) -> Any:
    """``NotRequired[X]`` -> ``X``."""
    while typing.get_origin(hint) is not None and getattr(typing.get_origin(hint), "_name", "") in ("NotRequired",
                                                                                                   "Required"):
        hint = typing.get_args(hint)[0]
    return hint


@dataclass
class RequestChecker(ProblemLog):
    requests: int = 0
    params: int = 0
    expansions: int = 0
    endpoints_seen: set = field(default_factory=set)

    def check(self, method: str, path: str, query: list[tuple[str, str]], stripe_version: str | None) -> None:
        self.requests += 1
        where = f"{method} {path}"
        if stripe_version != stripe_api_version():
            self.fail(where, f"Stripe-Version {stripe_version!r}, the pinned version is {stripe_api_version()!r}")
        endpoint = find_endpoint(method, path)
        if endpoint is None:
            self.fail(where, "no endpoint of the SDK has this path")
            return
        self.endpoints_seen.add((endpoint.method, endpoint.template))
        declared = params_fields(endpoint.module, endpoint.params_class) if endpoint.params_class else {}
        for key, value in query:
            self.params += 1
            match = _QUERY_KEY.match(key)
            if match is None:
                self.fail(where, f"malformed parameter {key!r}")
                continue
            name, brackets = match.group(1), re.findall(r"\[([^\[\]]*)\]", match.group(2))
            if name not in declared:
                self.fail(where, f"unknown parameter {name!r} for {endpoint.method} {endpoint.template}")
                continue
            if name == "expand":
                self.check_expand(where, endpoint, value)
                continue
            self._check_value(where, key, _unwrap(declared[name]), brackets, value)

    def _check_value(self, where: str, key: str, hint: Any, brackets: list[str], value: str) -> None:
        options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, type(int | str)) else (hint,)
        if brackets:
            head, rest = brackets[0], brackets[1:]
            for option in options:
                if is_typeddict(option) and head in _hints_of(option, option.__module__):
                    self._check_value(where, key, _unwrap(_hints_of(option, option.__module__)[head]), rest, value)
                    return
                if typing.get_origin(option) in (list, typing.List) and (head == "" or head.isdigit()):
                    self._check_value(where, key, typing.get_args(option)[0], rest, value)
                    return
            self.fail(where, f"parameter {key!r}: [{head}] is not declared")
            return
        literals = {v for option in options if typing.get_origin(option) is typing.Literal
                    for v in typing.get_args(option)}
        if literals:  # ``Literal[...] | str``: the SDK's leeway for new values; ours are held to the Literal
            fits = value in literals
        else:
            fits = any(option in (str, typing.Any) or (option is int and re.fullmatch(r"-?\d+", value) is not None)
                       or (option is bool and value in ("true", "false")) for option in options)
        if not fits:
            self.fail(where, f"parameter {key!r}={value!r} does not fit {hint}")

    def check_expand(self, where: str, endpoint: Endpoint, target: str) -> None:
        self.expansions += 1
        cls, is_list = answer_class(endpoint)
        segments = target.split(".")
        if is_list:
            if segments[0] != "data":
                self.fail(where, f"expand {target!r}: a list's expansions start with 'data.'")
                return
            segments = segments[1:]
        if len(target.split(".")) > MAX_EXPAND_DEPTH:
            self.fail(where, f"expand {target!r} is more than {MAX_EXPAND_DEPTH} levels deep")
        problem = expansion_problem(cls, segments)
        if problem:
            self.fail(where, f"expand {target!r}: {problem}")


def expansion_problem(cls: type, segments: list[str]) -> str | None:
    """None when ``a.b.c`` names an expandable field reached through fields of ``cls``, else why not.

    The last segment must be an ``ExpandableField`` or an includable field (declared by
    the SDK but not in Stripe's required set: ``price.tiers``, ``invoice.payments``);
    the ones before it lead there through expandable fields, nested objects, arrays and
    lists (``items.data.price``).
    """
    current: tuple = (cls,)
    position = 0
    while position < len(segments):
        segment, last = segments[position], position == len(segments) - 1
        owners = [c for c in current if segment in declared_fields(c)]
        if not owners:
            return f"{segment!r} is not a field of {' or '.join(c.__qualname__ for c in current)}"
        ft = field_type(declared_fields(owners[0])[segment])
        while ft.kind == "list":
            ft = field_type(ft.item)
        if ft.kind == "expandable":
            current = ft.targets
        elif last:
            if all(segment in required_fields(c) for c in owners):
                return f"{segment!r} is not an expandable field"
        elif ft.kind == "object":
            current = ft.targets
        elif ft.kind == "list_object":
            if segments[position + 1] != "data":
                return f"{segment!r} is a list: its objects are under 'data.'"
            current = field_type(ft.item).targets
            position += 1
        else:
            return f"{segment!r} cannot hold expanded objects"
        position += 1
    return None
