"""Staff forms for rules, teams and the routing settings (the services validate the rest)."""

from __future__ import annotations

from django import forms

from throughline.core.models import User
from throughline.intake.routing.conditions import FIELDS, OPERATORS
from throughline.intake.routing.models import RoutingSettings, Team

CONDITION_ROWS = 6


def _staff():
    return User.objects.filter(is_active=True).order_by("full_name", "email")


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    target = forms.ChoiceField(label="Assign to", help_text="A person, or a team member by turn")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = [(f"user:{u.pk}", str(u)) for u in _staff() if u.can("leads.edit")]
        teams = [(f"team:{t.pk}", f"Team {t}") for t in Team.objects.all()]
        self.fields["target"].choices = [("", "—")] + teams + users
        field_choices = [("", "—")] + list(FIELDS.items())
        for i in range(CONDITION_ROWS):
            self.fields[f"c{i}_field"] = forms.CharField(
                required=False,
                label=f"Condition {i + 1}: field",
                help_text="One of the listed fields or custom.<key>" if i == 0 else "",
                widget=forms.TextInput(attrs={"list": "routing-fields"}),
            )
            self.fields[f"c{i}_op"] = forms.ChoiceField(
                required=False,
                label="operator",
                choices=[("", "—")] + list(OPERATORS.items()),
            )
            self.fields[f"c{i}_value"] = forms.CharField(
                required=False, label="value", help_text="Lists: comma-separated" if i == 0 else ""
            )
        self.field_choices = field_choices

    def condition_rows(self):
        return [
            (self[f"c{i}_field"], self[f"c{i}_op"], self[f"c{i}_value"])
            for i in range(CONDITION_ROWS)
        ]

    def conditions(self) -> list[dict]:
        rows = []
        for i in range(CONDITION_ROWS):
            field = (self.cleaned_data.get(f"c{i}_field") or "").strip()
            op = self.cleaned_data.get(f"c{i}_op") or ""
            value = self.cleaned_data.get(f"c{i}_value") or ""
            if field or op or value:
                rows.append({"field": field, "op": op, "value": value})
        return rows

    def target_objects(self) -> tuple[User | None, Team | None]:
        kind, _, pk = (self.cleaned_data.get("target") or "").partition(":")
        if kind == "user":
            return User.objects.filter(pk=pk).first(), None
        if kind == "team":
            return None, Team.objects.filter(pk=pk).first()
        return None, None

    @staticmethod
    def initial_for(rule) -> dict:
        initial = {
            "name": rule.name,
            "is_active": rule.is_active,
            "target": f"team:{rule.team_id}" if rule.team_id else f"user:{rule.user_id}",
        }
        for i, c in enumerate(rule.conditions[:CONDITION_ROWS]):
            value = c.get("value")
            initial[f"c{i}_field"] = c.get("field")
            initial[f"c{i}_op"] = c.get("op")
            initial[f"c{i}_value"] = ", ".join(value) if isinstance(value, list) else (value or "")
        return initial


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    strategy = forms.ChoiceField(choices=Team.Strategy.choices)
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    manager = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = _staff()
        self.fields["manager"].queryset = _staff()


class SettingsForm(forms.Form):
    fallback_owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        help_text="Gets leads no rule assigns (empty: the first owner).",
    )
    escalation = forms.ChoiceField(
        choices=RoutingSettings.Escalation.choices,
        label="When a first response is overdue",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fallback_owner"].queryset = _staff()


class ReassignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=User.objects.none())
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _staff()
