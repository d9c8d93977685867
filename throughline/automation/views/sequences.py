"""Sequence pages: list, editor (steps and stop conditions), enrolments and statistics."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.automation.models import Enrollment, Sequence, SequenceStep, StopReason
from throughline.automation.sequences import services
from throughline.automation.sequences.stats import sequence_stats
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.crm import access as crm_access
from throughline.crm.normalize import normalize_email
from throughline.crm.views.listing import paginate, parse_uuid
from throughline.messaging.models import EmailTemplate


class SequenceForm(forms.Form):
    name = forms.CharField(max_length=200)
    key = forms.SlugField(max_length=80)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    purpose = forms.ChoiceField(choices=Sequence.Purpose.choices)
    stop_on = forms.MultipleChoiceField(
        label="Stop when",
        choices=StopReason.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    is_active = forms.BooleanField(label="On", required=False, initial=True)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["key"].disabled = True


class SequenceStepForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "—"), *SequenceStep.Kind.choices], required=False)
    template_key = forms.ChoiceField(label="E-mail template", required=False)
    task_title = forms.CharField(label="Task title", max_length=200, required=False)
    task_due_business_days = forms.IntegerField(
        label="Task due in business days", min_value=0, max_value=260, required=False
    )
    wait_business_days = forms.IntegerField(
        label="Wait business days", min_value=1, max_value=260, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template_key"].choices = [("", "—")] + [
            (t.key, f"{t.name} ({t.get_kind_display()})") for t in EmailTemplate.objects.all()
        ]


SequenceStepFormSet = forms.formset_factory(SequenceStepForm, extra=2, can_delete=True, max_num=30)


def _steps_from(formset) -> list[dict]:
    steps = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE") or not data.get("kind"):
            continue
        steps.append(
            {
                "kind": data["kind"],
                "template_key": data.get("template_key") or "",
                "task_title": data.get("task_title") or "",
                "task_due_business_days": data.get("task_due_business_days") or 1,
                "wait_business_days": data.get("wait_business_days"),
            }
        )
    return steps


@requires("automation.view")
def sequence_list(request: HttpRequest) -> HttpResponse:
    sequences = Sequence.objects.annotate(
        steps_count=Count("steps", distinct=True),
        active_count=Count("enrollments", filter=Q(enrollments__status="active"), distinct=True),
    ).order_by("name")
    context = {"sequences": sequences, "can_manage": request.user.can("automation.manage")}
    return render(request, "automation/sequence_list.html", context)


def _editor(request: HttpRequest, sequence: Sequence | None) -> HttpResponse:
    if request.method == "POST":
        initial = {"key": sequence.key} if sequence is not None else None
        form = SequenceForm(request.POST, initial=initial, editing=sequence is not None)
        steps = SequenceStepFormSet(request.POST, prefix="steps")
        if form.is_valid() & steps.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "key"}
            actor = Actor.from_request(request)
            try:
                if sequence is None:
                    sequence = services.create_sequence(
                        actor, key=form.cleaned_data["key"], steps=_steps_from(steps), **data
                    )
                else:
                    services.update_sequence(actor, sequence, steps=_steps_from(steps), **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Sequence “{sequence}” saved.")
                return redirect("automation:sequence_detail", sequence.pk)
    else:
        initial = {
            "purpose": Sequence.Purpose.NURTURE,
            "is_active": True,
            "stop_on": ["replied", "unsubscribed"],
        }
        if sequence is not None:
            initial = {
                "name": sequence.name,
                "key": sequence.key,
                "description": sequence.description,
                "purpose": sequence.purpose,
                "stop_on": sequence.stop_on,
                "is_active": sequence.is_active,
            }
        form = SequenceForm(initial=initial, editing=sequence is not None)
        rows = [
            {
                "kind": s.kind,
                "template_key": s.template_key,
                "task_title": s.task_title,
                "task_due_business_days": s.task_due_business_days,
                "wait_business_days": s.wait_business_days or None,
            }
            for s in (sequence.steps.order_by("position", "id") if sequence else [])
        ]
        steps = SequenceStepFormSet(initial=rows, prefix="steps")
    return render(
        request,
        "automation/sequence_form.html",
        {"form": form, "steps": steps, "sequence": sequence},
    )


@requires("automation.manage")
def sequence_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@requires("automation.manage")
def sequence_edit(request: HttpRequest, pk) -> HttpResponse:
    return _editor(request, get_object_or_404(Sequence, pk=pk))


def _enrollments_for(user, sequence: Sequence):
    enrollments = sequence.enrollments.select_related("contact", "last_step")
    if crm_access.own_records_only(user):
        enrollments = enrollments.filter(contact__owner=user)
    return enrollments


@requires("automation.view")
def sequence_detail(request: HttpRequest, pk) -> HttpResponse:
    sequence = get_object_or_404(Sequence, pk=pk)
    enrollments = _enrollments_for(request.user, sequence).order_by("-created_at")
    status = request.GET.get("status", "")
    if status in Enrollment.Status.values:
        enrollments = enrollments.filter(status=status)
    context = {
        "sequence": sequence,
        "steps": sequence.steps.order_by("position", "id"),
        "stats": sequence_stats(sequence),
        "page": paginate(request, enrollments, 50),
        "status": status,
        "stop_labels": dict(StopReason.choices),
        "can_manage": request.user.can("automation.manage"),
    }
    return render(request, "automation/sequence_detail.html", context)


@requires("automation.manage")
@require_POST
def sequence_enrol(request: HttpRequest, pk) -> HttpResponse:
    sequence = get_object_or_404(Sequence, pk=pk)
    given = request.POST.get("contact", "").strip()
    contacts = crm_access.contacts_for(request.user)
    contact = None
    if parse_uuid(given):
        contact = contacts.filter(pk=parse_uuid(given)).first()
    elif given:
        try:
            _, normalized = normalize_email(given)
        except ValidationError:
            normalized = ""
        contact = contacts.filter(email_normalized=normalized).first() if normalized else None
    if contact is None:
        messages.error(request, f"No contact {given!r} (give an e-mail address or an id).")
        return redirect("automation:sequence_detail", sequence.pk)
    try:
        _, created = services.enrol(Actor.from_request(request), sequence, contact, source="staff")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if created:
            messages.success(request, f"{contact} is enrolled.")
        else:
            messages.info(request, f"{contact} is already enrolled.")
    return redirect("automation:sequence_detail", sequence.pk)


@requires("automation.manage")
@require_POST
def enrollment_stop(request: HttpRequest, pk) -> HttpResponse:
    enrollment = get_object_or_404(Enrollment.objects.select_related("contact"), pk=pk)
    if crm_access.own_records_only(request.user) and enrollment.contact.owner_id != request.user.pk:
        raise Http404("Not found")
    try:
        services.stop_enrollment(Actor.from_request(request), enrollment.pk, "removed")
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{enrollment.contact} is removed from the sequence.")
    return redirect("automation:sequence_detail", enrollment.sequence_id)
