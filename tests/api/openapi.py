"""Check API responses against our own OpenAPI document, as Zulip does.

Every response the ``api`` fixture's clients receive is validated: its status must be documented
for the operation, its media type must match, and its body must match the schema, strictly
(no undocumented fields, every documented response field present, ids as UUIDs, times in UTC).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
import uuid

import jsonschema
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

API_PREFIX = "/api/v1/"
UNVALIDATED = {"/api/v1/openapi.json", "/api/v1/docs"}


@functools.cache
def document() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


def _to_json_schema(node):
    """OpenAPI 3.0 schema objects → JSON Schema 2020-12 (``nullable``), made strict."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_json_schema(value) for key, value in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        if "type" in node and "enum" not in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def _components() -> dict:
    return _to_json_schema(copy.deepcopy(document()["components"]))


# Formats apply to strings only (JSON Schema); type and nullability are checked apart.
def _utc_datetime(value) -> bool:
    if not isinstance(value, str):
        return True
    if not value.endswith("Z"):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _uuid(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(_utc_datetime)
FORMATS.checks("uuid")(_uuid)


def validate(instance, schema: dict) -> None:
    root = {**_to_json_schema(schema), "components": _components()}
    jsonschema.Draft202012Validator(root, format_checker=FORMATS).validate(instance)


@functools.cache
def _templates() -> list[tuple[re.Pattern, str]]:
    out = []
    for template in document()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        out.append((re.compile(f"^{pattern}$"), template))
    return out


def operation_for(method: str, path: str) -> dict | None:
    for pattern, template in _templates():
        if pattern.match(path):
            return document()["paths"][template].get(method.lower())
    return None


def problem_schema() -> dict:
    return {"$ref": "#/components/schemas/Problem"}


def check_response(method: str, path: str, response) -> None:
    """Raise AssertionError when ``response`` is not what the OpenAPI document promises."""
    if not path.startswith(API_PREFIX) or path in UNVALIDATED:
        return
    status = response.status_code
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    body = json.loads(response.content) if response.content else None
    operation = operation_for(method, path)
    if operation is None or status >= 500:
        # No route (404), a method the route does not serve (405), a server error: a problem.
        assert status in {404, 405} or status >= 500, f"{method} {path} is not documented"
        assert content_type == "application/problem+json", content_type
        validate(body, problem_schema())
        return
    documented = operation["responses"].get(str(status))
    assert documented is not None, f"{method} {path} answered {status}, which is not documented"
    content = documented.get("content")
    if not content:
        assert not response.content, f"{method} {path} {status} should have no body"
        return
    assert content_type in content, (
        f"{method} {path} {status}: {content_type} not in {list(content)}"
    )
    validate(body, content[content_type]["schema"])
