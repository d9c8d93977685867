"""Liveness and readiness (outside /api/v1/)."""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from throughline.core.access import public
from throughline.core.worker import worker_is_fresh


@public
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _pending_migrations() -> int:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@public
@require_GET
def readyz(request):
    checks: dict[str, str] = {}
    ok = True
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, never raise, from a probe
        return JsonResponse({"status": "unavailable", "checks": {"database": str(exc)}}, status=503)
    pending = _pending_migrations()
    checks["migrations"] = "ok" if pending == 0 else f"{pending} pending"
    ok &= pending == 0
    fresh = worker_is_fresh()
    checks["worker"] = "ok" if fresh else "no recent heartbeat"
    ok &= fresh
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
