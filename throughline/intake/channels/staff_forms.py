"""Django forms of the staff pages (form builder, sources, mailboxes, import, log a call)."""

from __future__ import annotations

from django import forms

from throughline.crm.custom_fields import definitions
from throughline.intake.channels.models import (
    LEAD_TARGETS,
    CsvImport,
    FormField,
    InboundMailbox,
    IntakeForm,
    WebhookSource,
)


class IntakeFormForm(forms.ModelForm):
    redirect_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="Send visitors here after sending instead of the thank-you text",
    )
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text="One per line, e.g. https://www.example.com — sites that may embed this form.",
    )

    class Meta:
        model = IntakeForm
        fields = [
            "name",
            "slug",
            "title",
            "intro",
            "submit_label",
            "source_slug",
            "thank_you_text",
            "redirect_url",
            "allowed_origins",
            "min_fill_seconds",
            "submissions_per_hour",
            "is_active",
        ]
        widgets = {
            "intro": forms.Textarea({"rows": 3}),
            "thank_you_text": forms.Textarea({"rows": 3}),
        }
        help_texts = {"slug": "The form's address: /f/<this>."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding and not self.is_bound:
            self.initial["allowed_origins"] = "\n".join(self.instance.allowed_origins or [])

    def validate_unique(self):  # the service reports a taken slug on the field
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


def target_choices() -> list[tuple[str, str]]:
    choices = [("", "— add to the message —")]
    choices += [(k, v) for k, v in LEAD_TARGETS.items()]
    choices += [(f"custom.{d.key}", f"Custom: {d.label}") for d in definitions("lead")]
    return choices


class FormFieldForm(forms.ModelForm):
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea({"rows": 3}),
        help_text="For a choice: one option per line.",
    )
    maps_to = forms.ChoiceField(required=False, label="Fills lead field")

    class Meta:
        model = FormField
        fields = [
            "label",
            "key",
            "kind",
            "required",
            "help_text",
            "placeholder",
            "choices",
            "maps_to",
            "consent_purpose",
        ]
        labels = {
            "label": "Label (for a consent: the exact wording)",
            "consent_purpose": "Consent purpose",
        }
        widgets = {"label": forms.Textarea({"rows": 2})}
        help_texts = {
            "consent_purpose": "e.g. marketing, privacy, terms. Changing a consent's wording "
            "keeps the old version on record."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["maps_to"].choices = target_choices()
        if not self.instance._state.adding and not self.is_bound:
            self.initial["choices"] = "\n".join(str(c) for c in self.instance.choices or [])

    def validate_unique(self):
        pass

    def service_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class WebhookSourceForm(forms.ModelForm):
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea({"rows": 5, "spellcheck": "false"}),
        help_text='JSON: lead field → path in the payload, e.g. {"email": "contact.email", '
        '"full_name": "contact.name"}. Empty: the payload uses our field names.',
    )

    class Meta:
        model = WebhookSource
        fields = [
            "name",
            "slug",
            "kind",
            "lead_source_slug",
            "verify_token",
            "mapping",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None and not self.instance._state.adding:
            self.fields["slug"].disabled = True
            if not self.is_bound:
                import json

                self.initial["mapping"] = (
                    json.dumps(self.instance.mapping, indent=2) if self.instance.mapping else ""
                )

    def validate_unique(self):
        pass

    def service_data(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data
        }


class MailboxForm(forms.ModelForm):
    imap_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored password.",
    )

    class Meta:
        model = InboundMailbox
        fields = [
            "address",
            "name",
            "lead_source_slug",
            "imap_enabled",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_username",
            "imap_password",
            "imap_folder",
            "max_attachment_bytes",
        ]

    def clean(self):
        data = super().clean()
        if data.get("imap_enabled"):
            for name in ("imap_host", "imap_username"):
                if not data.get(name):
                    self.add_error(name, "Needed to fetch mail by IMAP.")
            if not data.get("imap_password") and not (
                self.instance and self.instance.imap_password
            ):
                self.add_error("imap_password", "Needed to fetch mail by IMAP.")
        return data

    def save(self, commit=True):
        password = self.cleaned_data.get("imap_password")
        instance = super().save(commit=False)
        if not password and self.instance.pk:
            instance.imap_password = InboundMailbox.objects.get(pk=self.instance.pk).imap_password
        if commit:
            instance.save()
        return instance


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", help_text="UTF-8 or Latin-1; comma, semicolon or tab separated."
    )
    source = forms.SlugField(initial="import", label="Lead source", max_length=50)


class MappingForm(forms.Form):
    mode = forms.ChoiceField(
        choices=CsvImport.Mode.choices, widget=forms.RadioSelect, label="If rows are invalid"
    )
    source = forms.SlugField(label="Lead source", max_length=50)
    acknowledge = forms.BooleanField(
        required=False,
        label="Treat as fresh inquiries: send each new lead the acknowledgement e-mail and create a first-contact task",
    )

    def __init__(self, headers: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.choices = [("", "— ignore —"), *target_choices()[1:]]
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=self.choices, required=False, label=header
            )

    def column_fields(self):
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"col_{i}") or ""
            for i, header in enumerate(self.headers)
            if self.cleaned_data.get(f"col_{i}")
        }


class CallForm(forms.Form):
    caller = forms.CharField(label="Caller's number", max_length=64)
    caller_name = forms.CharField(label="Caller's name", max_length=200, required=False)
    started_at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput({"type": "datetime-local"}),
        help_text="Empty: now.",
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", min_value=0, max_value=1440, required=False
    )
    notes = forms.CharField(widget=forms.Textarea({"rows": 4}), required=False)
    recording_url = forms.URLField(
        label="Recording URL", required=False, max_length=1000, assume_scheme="https"
    )
