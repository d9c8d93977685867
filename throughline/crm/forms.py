"""Forms of the CRM staff UI.

They collect and shape input only; validation that matters to the business (e-mail syntax and
uniqueness, phone numbers, custom field types, required custom fields) lives in
``throughline.crm.services`` and comes back as a ``ValidationError`` that
``apply_service_errors`` places on the matching field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from throughline.core.models import User
from throughline.crm import access
from throughline.crm.custom_fields import definitions
from throughline.crm.models import Activity, Company, CustomFieldDefinition

CUSTOM_PREFIX = "custom_"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

Kind = CustomFieldDefinition.Kind


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` on the form fields it names.

    Services key errors by model field (``email``), by ``custom.<key>`` for custom fields and
    ``__all__`` for the record as a whole; anything the form has no field for becomes a
    non-field error, so no message is ever lost.
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages in exc.message_dict.items():
        name = key
        if key.startswith("custom."):
            name = CUSTOM_PREFIX + key.removeprefix("custom.")
        if name in form.fields and name not in form.errors:
            form.add_error(name, messages)
        elif name in form.fields:
            continue  # the form already explains what is wrong with this field
        else:
            label = "" if key in ("__all__", "custom") else f"{key.replace('_', ' ')}: "
            form.add_error(None, [f"{label}{m}" for m in messages])


def split_tags(raw: str) -> list[str]:
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


def user_choices(current: User | None = None, *, only: User | None = None):
    """Active staff users, plus the current owner so an edit never drops them silently."""
    if only is not None:
        condition = Q(pk=only.pk)
    else:
        condition = Q(is_active=True)
    if current is not None:
        condition |= Q(pk=current.pk)
    return User.objects.filter(condition).order_by("full_name", "email")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj) if obj.is_active else f"{obj} (deactivated)"


class BaseForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels read "E-mail", not "E-mail:"
        super().__init__(*args, **kwargs)


class CustomFieldsMixin:
    """Adds one typed input per ``CustomFieldDefinition`` of ``custom_entity``."""

    custom_entity = ""

    def add_custom_fields(self, values: dict[str, Any] | None) -> None:
        self.custom_definitions = definitions(self.custom_entity)
        values = values or {}
        for defn in self.custom_definitions:
            name = CUSTOM_PREFIX + defn.key
            self.fields[name] = custom_form_field(defn)
            if defn.key in values and not self.is_bound:
                self.initial[name] = values[defn.key]

    def custom_fields(self):
        return [self[CUSTOM_PREFIX + d.key] for d in self.custom_definitions]

    def custom_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {d.key: data.get(CUSTOM_PREFIX + d.key) for d in self.custom_definitions}


def custom_form_field(defn: CustomFieldDefinition) -> forms.Field:
    """A form field whose HTML input matches the definition's type.

    Values stay strings (or a bool) on purpose: ``validate_custom`` is the one place that
    decides what a valid number, date or choice is.
    """
    common = {"label": defn.label, "required": defn.required}
    if defn.kind == Kind.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if defn.kind == Kind.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if defn.kind == Kind.CHOICE:
        options = [("", "—")] + [(str(c), str(c)) for c in defn.choices or []]
        return forms.ChoiceField(choices=options, **common)
    if defn.kind == Kind.BOOLEAN:
        # An unticked box is a "no", which is a valid answer even for a required field.
        return forms.BooleanField(label=defn.label, required=False)
    return forms.CharField(max_length=2000, **common)


class ContactForm(CustomFieldsMixin, BaseForm):
    custom_entity = "contact"

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.CharField(
        label="E-mail",
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        help_text="Any format; stored in international form.",
    )
    title = forms.CharField(label="Job title", max_length=100, required=False)
    company = forms.ModelChoiceField(
        queryset=Company.objects.none(), required=False, empty_label="— none —"
    )
    owner = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="— nobody —")
    tags = forms.CharField(max_length=500, required=False, help_text="Separate tags with commas.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user: User, contact=None, **kwargs):
        super().__init__(*args, **kwargs)
        current_company = contact.company if contact else None
        companies = access.companies_for(user)
        if current_company is not None:
            companies = Company.objects.filter(
                Q(pk__in=companies.values("pk")) | Q(pk=current_company.pk)
            )
        self.fields["company"].queryset = companies.order_by("name")
        only = user if access.own_records_only(user) else None
        self.fields["owner"].queryset = user_choices(contact.owner if contact else None, only=only)
        if contact is not None and not self.is_bound:
            self.initial.update(
                {
                    "first_name": contact.first_name,
                    "last_name": contact.last_name,
                    "email": contact.email,
                    "phone": contact.phone,
                    "title": contact.title,
                    "company": contact.company_id,
                    "owner": contact.owner_id,
                    "tags": ", ".join(t.name for t in contact.tags.all()),
                    "notes": contact.notes,
                }
            )
        elif not self.is_bound:
            self.initial.setdefault("owner", user.pk)
        self.add_custom_fields(contact.custom if contact else None)

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "phone": data["phone"],
            "title": data["title"],
            "company": data["company"],
            "owner": data["owner"],
            "notes": data["notes"],
            "tags": split_tags(data["tags"]),
            "custom": self.custom_values(),
        }


class CompanyForm(CustomFieldsMixin, BaseForm):
    custom_entity = "company"

    name = forms.CharField(max_length=200)
    # URLField: only http(s) addresses, so a stored website is always safe to link to.
    website = forms.URLField(
        max_length=200,
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    phone = forms.CharField(
        max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel"})
    )
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # No max_length here: the service's message ("use the two-letter code") says more.
    country = forms.CharField(
        required=False,
        help_text="Two-letter code, e.g. GB, DE, US.",
        widget=forms.TextInput(attrs={"size": 2, "maxlength": 2, "autocomplete": "country"}),
    )
    vat_id = forms.CharField(label="VAT id", max_length=40, required=False)
    owner = UserChoiceField(queryset=User.objects.none(), required=False, empty_label="— nobody —")
    tags = forms.CharField(max_length=500, required=False, help_text="Separate tags with commas.")

    def __init__(self, *args, user: User, company=None, **kwargs):
        super().__init__(*args, **kwargs)
        only = user if access.own_records_only(user) else None
        self.fields["owner"].queryset = user_choices(company.owner if company else None, only=only)
        if company is not None and not self.is_bound:
            self.initial.update(
                {
                    "name": company.name,
                    "website": company.website,
                    "phone": company.phone,
                    "address": company.address,
                    "country": company.country,
                    "vat_id": company.vat_id,
                    "owner": company.owner_id,
                    "tags": ", ".join(t.name for t in company.tags.all()),
                }
            )
        elif not self.is_bound:
            self.initial.setdefault("owner", user.pk)
        self.add_custom_fields(company.custom if company else None)

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "website": data["website"],
            "phone": data["phone"],
            "address": data["address"],
            "country": data["country"],
            "vat_id": data["vat_id"],
            "owner": data["owner"],
            "tags": split_tags(data["tags"]),
            "custom": self.custom_values(),
        }


class ActivityForm(BaseForm):
    """A note, a call or a meeting logged on a contact's timeline."""

    QUICK_KINDS = (Activity.Kind.NOTE, Activity.Kind.CALL, Activity.Kind.MEETING)

    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    direction = forms.ChoiceField(
        choices=[("", "—"), ("out", "Outgoing"), ("in", "Incoming")], required=False
    )
    occurred_at = forms.DateTimeField(
        label="When",
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text="Leave empty for now.",
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", required=False, min_value=0, max_value=24 * 60
    )

    # Which inputs each kind shows; the others would only be noise on the form.
    FIELDS_BY_KIND = {
        Activity.Kind.NOTE: ("body",),
        Activity.Kind.CALL: ("direction", "subject", "body", "occurred_at", "duration_minutes"),
        Activity.Kind.MEETING: ("subject", "body", "occurred_at", "duration_minutes"),
    }
    SUBMIT_LABELS = {
        Activity.Kind.NOTE: "Add note",
        Activity.Kind.CALL: "Log call",
        Activity.Kind.MEETING: "Log meeting",
    }

    def __init__(self, *args, kind: str, **kwargs):
        kwargs.setdefault("prefix", kind)
        super().__init__(*args, **kwargs)
        self.kind_value = kind
        for name in list(self.fields):
            if name not in self.FIELDS_BY_KIND[kind]:
                del self.fields[name]
        if kind == Activity.Kind.NOTE:
            self.fields["body"].label = "Note"
            self.fields["body"].required = True
        else:
            self.fields["body"].label = "Notes"

    @property
    def submit_label(self) -> str:
        return self.SUBMIT_LABELS[self.kind_value]

    @property
    def kind_label(self) -> str:
        return Activity.Kind(self.kind_value).label

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        return {
            "kind": self.kind_value,
            "subject": data.get("subject") or "",
            "body": data.get("body") or "",
            "direction": data.get("direction") or "",
            "occurred_at": data.get("occurred_at"),
            "duration_seconds": minutes * 60 if minutes is not None else None,
        }


class TaskForm(BaseForm):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    due_at = forms.DateTimeField(
        label="Due",
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    owner = UserChoiceField(
        queryset=User.objects.none(), required=False, label="Assigned to", empty_label="— me —"
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = user_choices()
        if not self.is_bound:
            self.initial.setdefault("owner", user.pk)

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "due_at": data["due_at"],
            "owner": data["owner"],
        }
