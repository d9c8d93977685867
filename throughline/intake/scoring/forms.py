"""Staff forms of qualification and scoring. Shapes only: the services say what is valid."""

from __future__ import annotations

from django import forms

from throughline.automation.models import Sequence
from throughline.intake.scoring.models import Criterion, Operator, ScoringRule, Signal

TEXT = {"class": "input"}


class RubricForm(forms.Form):
    is_active = forms.BooleanField(required=False, label="Qualify every captured lead")
    auto_apply = forms.BooleanField(
        required=False, label="Act on the outcome at once (otherwise only recommend it)"
    )
    discovery_at = forms.CharField(label="Schedule discovery from (points)", max_length=12)
    nurture_at = forms.CharField(label="Nurture from (points); below: reject", max_length=12)
    nurture_sequence = forms.ModelChoiceField(
        Sequence.objects.none(), required=False, label="Nurture sequence"
    )
    send_decline_email = forms.BooleanField(
        required=False, label="Send a polite decline e-mail on reject"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nurture_sequence"].queryset = Sequence.objects.filter(is_active=True)


class ConditionMixin(forms.Form):
    field = forms.CharField(
        max_length=80,
        required=False,
        help_text="A lead field (source, country, message_length …), custom.<question> or "
        "utm.<parameter>.",
        widget=forms.TextInput(attrs={"list": "condition-fields"}),
    )
    operator = forms.ChoiceField(choices=[("", "—")] + Operator.choices, required=False)
    value = forms.CharField(
        max_length=300,
        required=False,
        help_text="Lists comma-separated; a range as “5000, 20000”.",
    )


class CriterionForm(ConditionMixin):
    kind = forms.ChoiceField(choices=Criterion.Kind.choices)
    label = forms.CharField(max_length=120)
    points = forms.CharField(max_length=12, required=False, initial="0")
    knockout = forms.BooleanField(required=False, label="Knock-out (not met → reject)")
    field_order = ["kind", "label", "field", "operator", "value", "points", "knockout"]


class ConfigForm(forms.Form):
    half_life_days = forms.CharField(label="Intent half-life (days)", max_length=12)
    hot_at = forms.CharField(label="Hot from (points)", max_length=12)
    warm_at = forms.CharField(label="Warm from (points)", max_length=12)


class RuleForm(ConditionMixin):
    kind = forms.ChoiceField(choices=ScoringRule.Kind.choices)
    label = forms.CharField(max_length=120)
    signal = forms.ChoiceField(
        choices=[("", "—")] + Signal.choices, required=False, help_text="Intent rules only."
    )
    points = forms.CharField(max_length=12)
    field_order = ["kind", "label", "field", "operator", "value", "signal", "points"]


class QualifyForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("accept", "Accept: schedule discovery"),
            ("nurture", "Nurture"),
            ("reject", "Reject"),
        ]
    )
    reason = forms.CharField(max_length=300, required=False)


class BookingLinkForm(forms.Form):
    url = forms.CharField(
        label="My booking page", max_length=500, required=False, help_text="https://…"
    )
