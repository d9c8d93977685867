"""Tasks: lists (mine / all / overdue / done), create, complete or reopen (htmx toggle)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm import access, services
from throughline.crm.forms import TaskForm, apply_service_errors
from throughline.crm.views.listing import paginate, parse_uuid, safe_next

TABS = {
    "mine": "My open tasks",
    "all": "All open",
    "overdue": "Overdue",
    "done": "Done",
}
PAGE_SIZE = 50


def _tab_querysets(user):
    tasks = access.tasks_for(user)
    open_tasks = tasks.filter(done_at__isnull=True)
    by_due = (F("due_at").asc(nulls_last=True), "-created_at", "pk")
    return {
        "mine": open_tasks.filter(owner=user).order_by(*by_due),
        "all": open_tasks.order_by(*by_due),
        "overdue": open_tasks.filter(due_at__lt=timezone.now()).order_by(*by_due),
        "done": tasks.filter(done_at__isnull=False).order_by("-done_at", "pk"),
    }


@requires("crm.view")
def task_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    show = request.GET.get("show", "mine")
    if show not in TABS:
        show = "mine"
    querysets = _tab_querysets(user)
    tabs = [
        {"key": key, "label": label, "count": querysets[key].count(), "active": key == show}
        for key, label in TABS.items()
    ]
    context = {
        "page": paginate(request, querysets[show], PAGE_SIZE),
        "show": show,
        "show_label": TABS[show],
        "tabs": tabs,
        "can_edit": user.can("crm.edit"),
        "now": timezone.now(),
        "next_url": request.get_full_path(),
    }
    return render(request, "crm/tasks/list.html", context)


@requires("crm.edit")
def task_create(request: HttpRequest) -> HttpResponse:
    """A task on its own, or for a contact (``contact=<id>``, from the contact page)."""
    user = request.user
    contact_id = parse_uuid(request.POST.get("contact") or request.GET.get("contact"))
    contact = access.access_contact(user, contact_id) if contact_id else None
    fallback = (
        reverse("crm:contact_detail", args=[contact.pk]) if contact else reverse("crm:task_list")
    )
    form = TaskForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.create_task(
                Actor.from_request(request), contact=contact, **form.service_data()
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Task “{task}” added.")
            return redirect(safe_next(request, fallback))
    context = {"form": form, "contact": contact, "next": safe_next(request, fallback)}
    return render(request, "crm/tasks/form.html", context)


@requires("crm.edit")
@require_POST
def task_toggle(request: HttpRequest, pk) -> HttpResponse:
    """Mark done (``done=1``) or reopen (``done=0``); the wanted state is explicit, so a
    double click or a replay leaves the task as the user last saw it."""
    task = access.access_task(request.user, pk)
    done = request.POST.get("done", "1") == "1"
    task = services.complete_task(Actor.from_request(request), task, done=done)
    if request.htmx:
        next_url = request.htmx.current_url_abs_path or reverse("crm:task_list")
        context = {"task": task, "can_edit": True, "now": timezone.now(), "next_url": next_url}
        return render(request, "crm/tasks/_task_row.html", context)
    messages.success(request, f"Task “{task}” {'done' if done else 'reopened'}.")
    return redirect(safe_next(request, reverse("crm:task_list")))
