"""Function and tool definitions, rendered the way the model sees them.

The API does not bill the JSON schema you send: it rewrites every function into a TypeScript-like
``namespace functions { ... }`` block and bills that text. Rendering the same block and counting
it reproduces all 36 API-verified cases of hmarr/openai-chat-tokens and the cookbook's tools
example on gpt-3.5-turbo, gpt-4, gpt-4o and gpt-4o-mini::

    namespace functions {

    // Get the current weather
    type get_weather = (_: {
    // The city
    location: string,
    unit?: "celsius" | "fahrenheit",
    }) => any;

    } // namespace functions

Property descriptions are printed at the top level only (nested ones are dropped, as the
API-verified hmarr cases require); optional properties get ``?``; enums become unions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from tokman.errors import InvalidRequestError

__all__ = ["render_functions"]

_SCALARS = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean"}
_SCALARS["null"] = "null"


def _bad(field: str, value: object, expected: str) -> NoReturn:
    raise InvalidRequestError(field, value, expected)


def _literal(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _type(schema: object, indent: int, field: str) -> str:
    if not isinstance(schema, Mapping):
        _bad(field, schema, "a JSON schema object")
    any_of = schema.get("anyOf", schema.get("oneOf"))
    if isinstance(any_of, list):
        return " | ".join(_type(s, indent, f"{field}.anyOf[{i}]") for i, s in enumerate(any_of))
    kind = schema.get("type")
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and kind != "object":
        return " | ".join(_literal(v) for v in enum)
    if isinstance(kind, list):
        return " | ".join(_SCALARS.get(k, "any") if isinstance(k, str) else "any" for k in kind)
    if kind == "object":
        body = _properties(schema, indent + 2, field)
        return "{\n" + body + ("\n" if body else "") + " " * indent + "}"
    if kind == "array":
        items = schema.get("items")
        return (_type(items, indent, f"{field}.items") if items is not None else "any") + "[]"
    if isinstance(kind, str):
        return _SCALARS.get(kind, "any")
    return "any"


def _properties(schema: Mapping[str, Any], indent: int, field: str) -> str:
    props = schema.get("properties")
    if props is None:
        return ""
    if not isinstance(props, Mapping):
        _bad(f"{field}.properties", props, "an object mapping property names to schemas")
    required = schema.get("required") or ()
    pad = " " * indent
    lines: list[str] = []
    for key, prop in props.items():
        where = f"{field}.properties.{key}"
        if not isinstance(prop, Mapping):
            _bad(where, prop, "a JSON schema object")
        description = prop.get("description")
        if description and indent == 0:
            lines.append(f"// {description}")
        mark = "" if key in required else "?"
        lines.append(f"{pad}{key}{mark}: {_type(prop, indent, where)},")
    return "\n".join(lines)


def _function(function: object, field: str) -> list[str]:
    if not isinstance(function, Mapping):
        _bad(field, function, "an object with 'name', 'description' and 'parameters'")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        _bad(f"{field}.name", name, "a non-empty string naming the function")
    lines: list[str] = []
    description = function.get("description")
    if description:
        lines.append(f"// {description}")
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        _bad(f"{field}.parameters", parameters, "a JSON schema object (type: object)")
    body = _properties(parameters, 0, f"{field}.parameters") if parameters else ""
    if body:
        lines += [f"type {name} = (_: {{", body, "}) => any;"]
    else:
        lines.append(f"type {name} = () => any;")
    lines.append("")
    return lines


def render_functions(functions: Sequence[object], field: str = "functions") -> str:
    """The ``namespace functions`` block the model is shown for these definitions.

    Args:
        functions: function definitions (``{"name", "description", "parameters"}``).
        field: the request field they came from, for error messages.

    >>> print(render_functions([{"name": "ping", "description": "Ping"}]))
    namespace functions {
    <BLANKLINE>
    // Ping
    type ping = () => any;
    <BLANKLINE>
    } // namespace functions
    """
    lines = ["namespace functions {", ""]
    for i, function in enumerate(functions):
        lines += _function(function, f"{field}[{i}]")
    lines.append("} // namespace functions")
    return "\n".join(lines)
