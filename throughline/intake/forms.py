"""Forms of the lead inbox: manual entry, quick actions, the merge decision.

They shape input only; ``capture_lead`` and the services validate what it means and their
``ValidationError`` lands on the matching field (``crm.forms.apply_service_errors``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from throughline.core.models import User
from throughline.crm import access as crm_access
from throughline.crm.forms import BaseForm, CustomFieldsMixin, UserChoiceField, user_choices
from throughline.crm.models import Contact
from throughline.crm.normalize import normalize_email
from throughline.intake.capture import ConsentInput, LeadInput
from throughline.intake.models import Lead, LeadSource
from throughline.intake.services import REJECT_REASONS

STAFF_CONSENT_WORDING = (
    "Agreed, when talking to us, to receive occasional news and offers by e-mail "
    "(recorded by a member of staff)."
)


class LeadForm(CustomFieldsMixin, BaseForm):
    """A lead typed in by staff: a phone call written down, a business card, a referral."""

    custom_entity = "lead"

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.CharField(
        label="E-mail", max_length=254, required=False, widget=forms.EmailInput()
    )
    phone = forms.CharField(
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
        help_text="Any format; stored in international form.",
    )
    company = forms.CharField(max_length=200, required=False)
    website = forms.CharField(max_length=200, required=False)
    title = forms.CharField(label="Job title", max_length=100, required=False)
    message = forms.CharField(
        label="What they asked for",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    source = forms.ModelChoiceField(
        queryset=LeadSource.objects.none(), to_field_name="slug", empty_label=None
    )
    owner = UserChoiceField(
        queryset=User.objects.none(), required=False, empty_label="— the source's default —"
    )
    referred_by = forms.CharField(
        label="Referred by",
        max_length=254,
        required=False,
        help_text="The e-mail address of the contact who recommended us (optional).",
        widget=forms.TextInput(
            attrs={"list": "referrer-options", "autocomplete": "off", "placeholder": "name@…"}
        ),
    )
    marketing_consent = forms.BooleanField(
        label="They agreed to receive news and offers by e-mail",
        required=False,
        help_text="Only tick this if they said so: it is recorded as their consent.",
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["source"].queryset = LeadSource.objects.filter(is_active=True)
        self.fields["owner"].queryset = user_choices()
        if not self.is_bound:
            self.initial.setdefault("source", "manual")
        self.add_custom_fields(None)

    def clean_referred_by(self) -> Contact | None:
        raw = (self.cleaned_data.get("referred_by") or "").strip()
        if not raw:
            return None
        contacts = crm_access.contacts_for(self.user)
        try:
            return contacts.get(pk=uuid.UUID(raw))
        except (ValueError, Contact.DoesNotExist):
            pass
        try:
            _, normalized = normalize_email(raw)
        except ValidationError as exc:
            raise ValidationError("Give the e-mail address of an existing contact.") from exc
        contact = contacts.filter(email_normalized=normalized).first()
        if contact is None:
            raise ValidationError("No contact has this e-mail address.")
        return contact

    def lead_input(self, *, ip: str | None) -> LeadInput:
        data = self.cleaned_data
        referred_by = data.get("referred_by")
        consents = []
        if data.get("marketing_consent"):
            consents.append(
                ConsentInput("marketing", True, "staff-recorded-v1", STAFF_CONSENT_WORDING)
            )
        return LeadInput(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            phone=data["phone"],
            company=data["company"],
            website=data["website"],
            title=data["title"],
            message=data["message"],
            source=data["source"].slug,
            channel=Lead.Channel.REFERRAL if referred_by else Lead.Channel.MANUAL,
            consents=consents,
            custom={k: v for k, v in self.custom_values().items() if v not in (None, "")},
            owner=data.get("owner"),
            referred_by=referred_by,
            ip=ip,
            raw={"entered_by": self.user.email},
        )


class CallForm(BaseForm):
    direction = forms.ChoiceField(
        choices=[("out", "We called them"), ("in", "They called us")], initial="out"
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", required=False, min_value=0, max_value=24 * 60
    )

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        return {
            "direction": data["direction"],
            "notes": data.get("notes") or "",
            "duration_seconds": minutes * 60 if minutes is not None else None,
        }


class EmailForm(BaseForm):
    template = forms.ChoiceField(label="Template", choices=())

    def __init__(self, *args, **kwargs):
        from throughline.messaging.models import EmailTemplate

        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [
            (t.key, t.name) for t in EmailTemplate.objects.order_by("name")
        ]


class RejectForm(BaseForm):
    reason = forms.ChoiceField(choices=list(REJECT_REASONS.items()))
    note = forms.CharField(max_length=250, required=False)


class DismissForm(BaseForm):
    reason = forms.CharField(label="Why (optional)", max_length=300, required=False)
