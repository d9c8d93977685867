"""Forms of the no-code workflow editor, and their translation to and from a definition.

The editor has three parts: the header (name, trigger, subject), condition rows, and step
rows. Conditions: rows in the same *group* must all hold; any one group is enough (Zapier's
"and" within, "or" between). Each step row picks an action; its parameters are a small form
built from the action's schema (``ParamsForm``), fetched with htmx when the action changes.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from throughline.automation import registry
from throughline.automation.models import Sequence
from throughline.automation.workflows.conditions import OPERATORS, field_specs
from throughline.core.events import EVENT_NAMES
from throughline.core.models import User
from throughline.messaging.models import EmailTemplate

TRIGGER_CHOICES = [
    ("event", "When an event happens"),
    ("schedule", "On a schedule"),
    ("absence", "When an event does not follow another"),
]


def event_choices(blank: bool = True) -> list[tuple[str, str]]:
    choices = [(name, name) for name in sorted(EVENT_NAMES)]
    return [("", "—")] + choices if blank else choices


def subject_choices() -> list[tuple[str, str]]:
    subjects = registry.subject_types()
    return [("", "— none —")] + [(k, f"{s.label} ({k})") for k, s in sorted(subjects.items())]


class WorkflowHeaderForm(forms.Form):
    name = forms.CharField(max_length=200)
    key = forms.SlugField(max_length=80, help_text="Stable name used in exports and imports")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    subject = forms.ChoiceField(
        label="About", required=False, help_text="The record conditions and steps work on"
    )
    trigger_type = forms.ChoiceField(label="Trigger", choices=TRIGGER_CHOICES)
    event = forms.ChoiceField(label="Event", required=False)
    missing = forms.ChoiceField(
        label="…and no", required=False, help_text="For an absence trigger: the awaited event"
    )
    business_days = forms.IntegerField(
        label="within business days", required=False, min_value=1, max_value=260
    )
    cron = forms.CharField(
        label="Schedule (cron)",
        required=False,
        help_text="minute hour day month weekday, in the organization's time zone: "
        "0 9 * * 1-5 is 09:00 on weekdays",
    )
    note = forms.CharField(label="What changed", max_length=200, required=False)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subject"].choices = subject_choices()
        self.fields["event"].choices = event_choices()
        self.fields["missing"].choices = event_choices()
        if editing:
            self.fields["key"].disabled = True

    def trigger(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["trigger_type"]
        if kind == "event":
            return {"type": "event", "event": data.get("event") or ""}
        if kind == "schedule":
            return {"type": "schedule", "cron": data.get("cron") or ""}
        return {
            "type": "absence",
            "event": data.get("event") or "",
            "missing": data.get("missing") or "",
            "business_days": data.get("business_days"),
        }


class ConditionRowForm(forms.Form):
    group = forms.IntegerField(min_value=1, max_value=20, initial=1, required=False)
    field = forms.CharField(required=False, max_length=120)
    op = forms.ChoiceField(choices=[("", "—"), *OPERATORS.items()], required=False)
    value = forms.CharField(required=False, max_length=500, help_text="Several: a, b, c")

    def __init__(self, *args, field_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if field_choices is not None:
            self.fields["field"] = forms.ChoiceField(choices=field_choices, required=False)

    def leaf(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("field") or self.cleaned_data.get("DELETE"):
            return None
        op = data.get("op") or "eq"
        leaf: dict[str, Any] = {"field": data["field"], "op": op}
        raw = data.get("value", "")
        if op == "in":
            leaf["value"] = [v.strip() for v in raw.split(",") if v.strip()]
        elif op == "is_empty":
            if raw.strip():
                leaf["value"] = raw.strip().lower() not in {"no", "false", "0"}
        else:
            leaf["value"] = _typed(raw)
        return leaf


def _typed(raw: str) -> Any:
    """ "10" → 10, "true" → True; text stays text (validation coerces per field type)."""
    text = raw.strip()
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        float(text)
    except ValueError:
        return raw
    return text


ConditionFormSet = forms.formset_factory(ConditionRowForm, extra=2, can_delete=True, max_num=40)


class StepRowForm(forms.Form):
    action = forms.ChoiceField(required=False)
    step_id = forms.SlugField(label="Step id", required=False, max_length=50)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "—")] + [
            (name, f"{a.label} ({name})") for name, a in registry.actions().items()
        ]


StepFormSet = forms.formset_factory(StepRowForm, extra=1, can_delete=True, max_num=50)


def field_choices(subject_type: str) -> list[tuple[str, str]]:
    specs = field_specs(subject_type) if subject_type else {}
    return [("", "—")] + [(name, f"{spec.label or name} ({name})") for name, spec in specs.items()]


class ParamsForm(forms.Form):
    """The parameters of one action, built from its schema."""

    def __init__(self, action: registry.Action, subject_type: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action
        for param in action.params:
            self.fields[param.name] = self._field(param, subject_type)

    def _field(self, param: registry.Param, subject_type: str) -> forms.Field:
        common = {
            "label": param.label or param.name,
            "required": param.required,
            "help_text": param.help,
        }
        kind = param.type
        if kind == "integer":
            return forms.IntegerField(min_value=param.min, max_value=param.max, **common)
        if kind == "boolean":
            common["required"] = False
            return forms.BooleanField(initial=bool(param.default), **common)
        if kind == "longtext":
            return forms.CharField(
                widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, **common
            )
        choices: list[tuple[str, str]] | None = None
        if kind == "choice":
            choices = [(c, c) for c in param.choices]
        elif kind == "template":
            choices = [
                (t.key, f"{t.name} ({t.get_kind_display()})") for t in EmailTemplate.objects.all()
            ]
        elif kind == "sequence":
            choices = [(c, "Every sequence") for c in param.choices]
            choices += [(s.key, s.name) for s in Sequence.objects.all()]
        elif kind == "user":
            choices = [("subject_owner", "The record's owner")] if subject_type else []
            choices += [(u.email, str(u)) for u in User.objects.filter(is_active=True)]
        elif kind in {"field", "date_field"}:
            specs = field_specs(subject_type) if subject_type else {}
            choices = [
                (n, s.label or n)
                for n, s in specs.items()
                if kind == "field" or s.type in {"date", "datetime"}
            ]
        elif kind == "setter_field":
            specs = field_specs(subject_type) if subject_type else {}
            choices = [
                (n, s.label or n) for n, s in specs.items() if registry.setter_for(subject_type, n)
            ]
        if choices is not None:
            if not param.required:
                choices = [("", "—"), *choices]
            return forms.ChoiceField(choices=choices, initial=param.default, **common)
        if kind == "any":
            common["help_text"] = common["help_text"] or "Text, a number, true or false"
        limit = 500 if kind == "text" else 10_000
        return forms.CharField(initial=param.default, max_length=limit, **common)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for param in self.action.params:
            value = self.cleaned_data.get(param.name)
            if param.type == "boolean":
                out[param.name] = bool(value)
            elif value not in (None, ""):
                out[param.name] = _typed(value) if param.type == "any" else value
        return out


# --- definition <-> form data ---------------------------------------------------------------


def conditions_from_rows(leaves: list[tuple[int, dict]]) -> dict | None:
    if not leaves:
        return None
    groups: dict[int, list[dict]] = {}
    for group, leaf in leaves:
        groups.setdefault(group, []).append(leaf)
    alls = [{"all": rows} for _, rows in sorted(groups.items())]
    return alls[0] if len(alls) == 1 else {"any": alls}


def rows_from_conditions(condition: dict | None) -> tuple[list[dict], bool]:
    """Condition rows for the editor; False when the tree is deeper than the form shows."""
    if not condition:
        return [], True
    groups: list[list[dict]]
    if "any" in condition and all("all" in c or "field" in c for c in condition["any"]):
        groups = [c["all"] if "all" in c else [c] for c in condition["any"]]
    elif "all" in condition:
        groups = [condition["all"]]
    elif "field" in condition:
        groups = [[condition]]
    else:
        return [], False
    rows = []
    for number, group in enumerate(groups, start=1):
        for leaf in group:
            if "field" not in leaf:
                return [], False
            value = leaf.get("value", "")
            if isinstance(value, list):
                value = ", ".join(map(str, value))
            elif isinstance(value, bool):
                value = "true" if value else "false"
            rows.append({"group": number, "field": leaf["field"], "op": leaf["op"], "value": value})
    return rows, True


def header_initial(workflow, definition: dict) -> dict:
    trigger = definition.get("trigger", {})
    return {
        "name": workflow.name if workflow else "",
        "key": workflow.key if workflow else "",
        "description": workflow.description if workflow else "",
        "subject": definition.get("subject", ""),
        "trigger_type": trigger.get("type", "event"),
        "event": trigger.get("event", ""),
        "missing": trigger.get("missing", ""),
        "business_days": trigger.get("business_days"),
        "cron": trigger.get("cron", ""),
    }


def pretty(definition: dict) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False)
