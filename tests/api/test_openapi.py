import json
import re

import jsonschema
import pytest
from django.core.management import call_command

from tests.api import openapi

pytestmark = pytest.mark.django_db

EXPOSED = {
    "/api/v1/contacts",
    "/api/v1/contacts/{id}",
    "/api/v1/companies",
    "/api/v1/companies/{id}",
    "/api/v1/tasks",
    "/api/v1/tasks/{id}",
    "/api/v1/tasks/{id}/complete",
    "/api/v1/events",
    "/api/v1/me",
}


def test_openapi_document_is_public_and_lists_every_route(anonymous):
    response = anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document = response.json()
    assert document["openapi"].startswith("3.")
    # The foundation's routes; other apps' routes are covered by their own tests and by the
    # derived permission matrix in test_permissions.py.
    assert EXPOSED <= set(document["paths"])
    assert all(path.startswith("/api/v1/") for path in document["paths"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_schema_is_valid_and_generates_without_warnings(tmp_path):
    # --validate checks against the OpenAPI 3 meta-schema; --fail-on-warn catches fields
    # drf-spectacular had to guess.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )


def test_every_post_documents_the_idempotency_key_and_its_errors():
    for path, operations in openapi.document()["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "429" in responses, (method, path)
            assert "application/problem+json" in responses["401"]["content"], (method, path)
            if method == "post":
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" in names, path
                assert {"409", "422"} <= set(responses), path


def test_docs_page_loads_everything_from_our_own_static_files(anonymous):
    response = anonymous.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/v1/openapi.json" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "external resource"
    for asset in re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html):
        assert anonymous.get(asset).status_code == 200, asset


def test_the_checker_rejects_a_response_that_breaks_the_schema(api):
    # The automatic check in every test is only worth something if it can fail.
    contact = api().post("/api/v1/contacts", {"first_name": "Ada"}, format="json")
    for broken in (
        {**contact.json(), "surprise": 1},
        {k: v for k, v in contact.json().items() if k != "email"},
        {**contact.json(), "created_at": "2025-01-01T10:00:00+02:00"},
        {**contact.json(), "id": "42"},
    ):
        contact.content = json.dumps(broken).encode()
        with pytest.raises(jsonschema.ValidationError):
            openapi.check_response("POST", "/api/v1/contacts", contact)
