"""The official OpenAPI file, loaded for conformance tests, and a validator of the requests
our client sends (as recorded by the emulator's journal).

The file is read from ``../shared/reference/trigger-v3-openapi.yaml`` next to the repository
(never copied into the package); tests skip with a reason where it is absent.

Query parameters use the API's own conventions, which generic OpenAPI tooling does not parse:
``deepObject`` names with nested keys (``filter[createdAt][period]=7d``) and arrays as one
comma-separated value (``filter[status]=FAILED,CRASHED``). ``request_problems()`` decodes
them that way, then validates path, query and JSON body against the operation's schemas
with jsonschema (OpenAPI 3.1 schemas are JSON Schema 2020-12).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "reference"
    / ("trigger-v3-openapi.yaml")
)
SKIP_REASON = f"the official OpenAPI file is not at {SPEC_PATH}"
_URN = "urn:trigger-openapi"


def available() -> bool:
    return SPEC_PATH.is_file()


@functools.cache
def spec() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@functools.cache
def json_spec() -> dict[str, Any]:
    """The file as JSON (dates in examples kept as strings), for tools that need JSON: YAML's
    own loader turns ``2024-01-01T00:00:00Z`` into a datetime."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=Loader)


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resource(_URN, Resource(contents=spec(), specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def validator_at(*parts: str) -> Any:
    """A validator for the schema at ``parts`` of the spec (refs resolve inside the spec)."""
    from jsonschema import Draft202012Validator

    # Formats are asserted: the file tells a date from a duration by `format: date-time`.
    return Draft202012Validator(
        {"$ref": f"{_URN}#/{_pointer(*parts)}"},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]] | None:
    """(template, operation, path params) for a concrete request path, or ``None``."""
    segments = path.strip("/").split("/")
    candidates = []
    for template, item in spec()["paths"].items():
        operation = item.get(method.lower())
        if operation is None:
            continue
        parts = template.strip("/").split("/")
        if len(parts) != len(segments):
            continue
        params: dict[str, str] = {}
        literal = 0
        for part, segment in zip(parts, segments):
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = unquote(segment)
            elif part == segment:
                literal += 1
            else:
                break
        else:
            candidates.append((literal, template, operation, params))
    if not candidates:
        return None
    _, template, operation, params = max(candidates, key=lambda c: c[0])
    return template, operation, params


def _parameters(template: str, operation: dict[str, Any]) -> list[tuple[dict[str, Any], tuple]]:
    """The path item's and the operation's parameters, with where each one's schema is."""
    item = spec()["paths"][template]
    method = next(m for m, op in item.items() if op is operation)
    sources = [
        (("paths", template), item.get("parameters", [])),
        (("paths", template, method), operation.get("parameters", [])),
    ]
    found = []
    for prefix, params in sources:
        for index, param in enumerate(params):
            location: tuple[str, ...]
            if "$ref" in param:
                name = param["$ref"].rsplit("/", 1)[-1]
                param = spec()["components"]["parameters"][name]
                location = ("components", "parameters", name, "schema")
            else:
                location = (*prefix, "parameters", str(index), "schema")
            found.append((param, location))
    return found


def _decode_deep_object(name: str, query: dict[str, list[str]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, values in query.items():
        if not key.startswith(name + "["):
            continue
        keys = re.findall(r"\[([^\]]*)\]", key[len(name) :])
        target = value
        for part in keys[:-1]:
            target = target.setdefault(part, {})
        target[keys[-1]] = values[-1]
    return value


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Query strings → the types the schema asks for (comma lists become arrays)."""
    if isinstance(value, dict):
        properties = _resolved(schema).get("properties", {})
        for sub in _resolved(schema).get("allOf", []):
            properties = {**properties, **_resolved(sub).get("properties", {})}
        return {key: _coerce(item, properties.get(key, {})) for key, item in value.items()}
    schema = _resolved(schema)
    kind = schema.get("type")
    if kind == "array":
        return [_coerce(item, schema.get("items", {})) for item in value.split(",")]
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec()
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def request_problems(entry: Any) -> list[str]:
    """Everything about one journalled request that the OpenAPI file does not allow."""
    found = find_operation(entry.method, entry.path)
    if found is None:
        return [f"{entry.method} {entry.path}: no such operation in the OpenAPI file"]
    template, operation, path_params = found
    problems: list[str] = []
    query = dict(entry.query)
    for param, location in _parameters(template, operation):
        name, where = param["name"], param["in"]
        validator = validator_at(*location)
        if where == "path":
            value: Any = path_params.get(name)
        elif where == "query" and param.get("style") == "deepObject":
            value = _decode_deep_object(name, query)
            for key in [k for k in query if k.startswith(name + "[")]:
                query.pop(key)
            if not value:
                continue
            value = _coerce(value, param["schema"])
        elif where == "query":
            if name not in query:
                if param.get("required"):
                    problems.append(f"query parameter {name} is required")
                continue
            value = _coerce(query.pop(name)[-1], param["schema"])
        else:
            continue
        for error in validator.iter_errors(value):
            problems.append(f"{where} {name}: {error.message}")
    for leftover in query:
        problems.append(f"query parameter {leftover} is not in the OpenAPI file")
    body_spec = operation.get("requestBody")
    if entry.body is not None and body_spec is None:
        problems.append("the operation takes no body")
    elif body_spec is not None:
        content_type = entry.headers.get("content-type", "").split(";")[0].strip()
        content = body_spec.get("content", {})
        if entry.body is None:
            if body_spec.get("required"):
                problems.append("the request body is required")
        elif content_type not in content:
            problems.append(f"content type {content_type} is not one of {sorted(content)}")
        elif content_type == "application/json":
            method = next(m for m, op in spec()["paths"][template].items() if op is operation)
            validator = validator_at(
                "paths", template, method, "requestBody", "content", content_type, "schema"
            )
            body = entry.body if not isinstance(entry.body, str) else json.loads(entry.body)
            for error in validator.iter_errors(body):
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                problems.append(f"body {where}: {error.message}")
    return problems


class OpenApiShapes:
    """Test-case mixin: ``assertConforms(body, path, method)`` validates a response body against
    the 200 response schema the OpenAPI file gives for ``method path`` (OpenAPI 3.0 semantics,
    so the file's ``nullable: true`` is honoured).

    Where the file is absent the check is not made and the rest of the test still runs; the
    absence is reported once, as a skip, by ``test_emulator_openapi``."""

    def assertConforms(
        self, body: Any, path: str, method: str = "get", status: str = "200"
    ) -> None:
        if not available():
            return
        from openapi_schema_validator import OAS30Validator

        pointer = (
            "#/paths/"
            + path.replace("~", "~0").replace("/", "~1")
            + f"/{method}/responses/{status}/content/application~1json/schema"
        )
        validator = OAS30Validator(
            {**spec(), "$ref": pointer}, format_checker=OAS30Validator.FORMAT_CHECKER
        )
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        self.assertEqual(problems, [], f"{method.upper()} {path}")  # type: ignore[attr-defined]
