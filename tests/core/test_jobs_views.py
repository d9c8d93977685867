"""The failed-jobs page: a job that ran out of attempts is listed and can be retried."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from throughline.core import jobs
from throughline.core.models import AuditEntry, WorkerHeartbeat
from throughline.core.roles import Role
from throughline.core.worker import run_until_idle

CALLS: list[int] = []


class PrinterOnFire(RuntimeError):
    pass


@jobs.job(max_attempts=1)
def always_fails(invoice_id: int) -> None:
    CALLS.append(invoice_id)
    raise PrinterOnFire(f"cannot print invoice {invoice_id}")


@pytest.fixture
def failed_job(db) -> DBTaskResult:
    CALLS.clear()
    always_fails.enqueue(42)
    run_until_idle()
    result = DBTaskResult.objects.get(task_path=always_fails.module_path)
    assert result.status == jobs.FAILED
    return result


@pytest.fixture
def admin_client(client, users):
    client.force_login(users[Role.ADMIN])
    return client


def test_failed_job_is_listed_with_attempts_error_and_traceback(admin_client, failed_job):
    response = admin_client.get(reverse("core:failed_jobs"))
    html = response.content.decode()
    assert response.status_code == 200
    row = response.context["jobs"][0]
    assert row["task_path"] == "tests.core.test_jobs_views.always_fails"
    assert (row["attempts"], row["max_attempts"]) == (1, 1)
    assert row["error"] == "PrinterOnFire"
    assert "cannot print invoice 42" in row["traceback"]
    assert "<details" in html and "cannot print invoice 42" in html
    assert reverse("core:retry_job", args=[failed_job.id]) in html


def test_retry_requeues_with_a_fresh_budget_and_is_audited(admin_client, failed_job, users):
    # when
    response = admin_client.post(reverse("core:retry_job", args=[failed_job.id]))
    # then
    assert response.status_code == 302
    failed_job.refresh_from_db()
    assert failed_job.status == jobs.READY and failed_job.worker_ids == []
    entry = AuditEntry.objects.get(action="job.retried")
    assert entry.object_id == str(failed_job.id) and entry.actor == users[Role.ADMIN]
    assert admin_client.get(reverse("core:failed_jobs")).context["jobs"] == []
    # and the worker really runs it again
    run_until_idle()
    assert CALLS == [42, 42]
    failed_job.refresh_from_db()
    assert failed_job.status == jobs.FAILED


def test_retry_with_htmx_replaces_the_row(admin_client, failed_job):
    response = admin_client.post(
        reverse("core:retry_job", args=[failed_job.id]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<tr>") and "queued again" in html


def test_retrying_twice_is_harmless(admin_client, failed_job):
    admin_client.post(reverse("core:retry_job", args=[failed_job.id]))
    response = admin_client.post(reverse("core:retry_job", args=[failed_job.id]), follow=True)
    assert "no longer failed" in response.content.decode()
    assert AuditEntry.objects.filter(action="job.retried").count() == 1


def test_worker_heartbeats_are_shown_fresh_or_silent(admin_client, settings):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="alive-1", hostname="web1", pid=10, started_at=now, last_seen=now
    )
    old = now - dt.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS + 5)
    WorkerHeartbeat.objects.create(
        worker_id="gone-2", hostname="web2", pid=11, started_at=old, last_seen=old
    )
    response = admin_client.get(reverse("core:failed_jobs"))
    states = {row["beat"].worker_id: row["fresh"] for row in response.context["heartbeats"]}
    assert states == {"alive-1": True, "gone-2": False}
    html = response.content.decode()
    assert "Alive" in html and "Silent" in html


def test_empty_states(admin_client):
    html = admin_client.get(reverse("core:failed_jobs")).content.decode()
    assert "No failed jobs" in html and "No worker has reported yet" in html


def test_jobs_page_needs_jobs_manage(client, users, failed_job):
    client.force_login(users[Role.BILLING])
    assert client.get(reverse("core:failed_jobs")).status_code == 403
    assert client.post(reverse("core:retry_job", args=[failed_job.id])).status_code == 403
    failed_job.refresh_from_db()
    assert failed_job.status == jobs.FAILED
