"""Forms of the integrations pages: they shape input; services.py validates what it means."""

from __future__ import annotations

from django import forms

from throughline.core.events import EVENT_NAMES
from throughline.core.models import User
from throughline.integrations.models import WebhookDelivery

ALL_EVENTS = "*"


def event_choices() -> list[tuple[str, str]]:
    return [(ALL_EVENTS, "All events (*)")] + [(name, name) for name in sorted(EVENT_NAMES)]


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=120)
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="http:// or https://. Requests never follow redirects; private and loopback "
        "addresses are refused.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/throughline"}),
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=event_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="“All events” includes events added later.",
    )
    description = forms.CharField(max_length=300, required=False)
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="E-mailed if the endpoint is disabled for failing (you, when left empty).",
    )


class EnableForm(forms.Form):
    resend_stopped = forms.BooleanField(
        required=False, initial=True, label="Resend the deliveries stopped when it was disabled"
    )


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All")] + list(WebhookDelivery.Status.choices), required=False
    )
