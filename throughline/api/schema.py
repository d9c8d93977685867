"""OpenAPI details every operation shares: problem responses and the Idempotency-Key header."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from throughline.api.errors import PROBLEM_CONTENT_TYPE, TITLES
from throughline.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from throughline.api.idempotency import MAX_KEY_LENGTH

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID) per intended operation. Repeating the request with the same "
        "key and body returns the first response (header `Idempotent-Replayed: true`) and "
        "changes nothing; the same key with another body answers 422; while the first is still "
        f"running, 409. Keys are per user, up to {MAX_KEY_LENGTH} characters, kept 24 hours."
    ),
)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    # problem bodies are built by api/errors.py: "errors" only when fields are at fault.
    optional_in_response = ("errors",)

    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Per field: `{"email": ["…"], "custom.budget": ["…"], "__all__": ["…"]}`.',
    )


class ApiAutoSchema(AutoSchema):
    """Adds the problem responses an operation can give, and the Idempotency-Key on POSTs."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_PARAMETER)
        return parameters

    def _map_basic_serializer(self, serializer, direction):
        # DRF writes every readable field into a response, given or not; say so, so that a
        # response missing one fails validation (tests/api/openapi.py).
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            optional = set(getattr(serializer, "optional_in_response", ()))
            schema["required"] = sorted(set(schema["properties"]) - optional)
        return schema

    def error_statuses(self) -> list[int]:
        codes = {400, 404, 429}
        if not getattr(self.view, "throughline_public", False):
            codes |= {401, 403}
        if self.method in {"POST", "PUT", "PATCH"}:
            codes |= {413, 415}
        if self.method == "POST":
            codes |= {409, 422}
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        problem_ref = self.resolve_serializer(ProblemSerializer, "response").ref
        for code in self.error_statuses():
            responses.setdefault(
                str(code),
                {
                    "description": TITLES[code],
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": problem_ref}},
                },
            )
        return responses
