"""Base serializer for the apps' API serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ServiceSerializer(serializers.Serializer):
    """Validates the shape of a request; the service validates its meaning.

    ``service_names`` maps an API field to the service's keyword (``company_id`` → ``company``);
    ``service_kwargs()`` renames the validated data for the service call, and the exception
    handler (api/errors.py) renames the service's field errors back.
    """

    service_names: dict[str, str] = {}

    def service_kwargs(self) -> dict[str, Any]:
        return {
            self.service_names.get(key, key): value for key, value in self.validated_data.items()
        }
