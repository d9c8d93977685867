"""Forms of the sales staff UI and the client's proposal page.

They shape input only; the services validate what it means (and recompute every figure), and
their ``ValidationError`` is put back on the form with ``add_service_errors``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory

from throughline.core import money
from throughline.core.views.common import add_service_errors  # noqa: F401 - re-exported
from throughline.crm import access as crm_access
from throughline.crm.forms import UserChoiceField, user_choices
from throughline.sales.content import DUE_CHOICES, SCHEDULE_KINDS
from throughline.sales.models import (
    CatalogueItem,
    Deal,
    LostReason,
    ProposalTemplate,
    Stage,
    TaxCategory,
)

TEXTAREA_SMALL = {"rows": 3}


class BaseForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DealForm(BaseForm):
    title = forms.CharField(max_length=200)
    contact = forms.ModelChoiceField(queryset=None, required=False)
    company = forms.ModelChoiceField(queryset=None, required=False)
    value = forms.DecimalField(min_value=0, max_digits=16, decimal_places=4, initial=0)
    currency = forms.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    stage = forms.ModelChoiceField(queryset=None, required=False)
    expected_close_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    owner = UserChoiceField(queryset=None, required=False)
    source = forms.CharField(max_length=100, required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs=TEXTAREA_SMALL))

    def __init__(self, *args, user, deal: Deal | None = None, **kwargs):
        if deal is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": deal.title,
                "contact": deal.contact_id,
                "company": deal.company_id,
                "value": money.plain(deal.value),
                "currency": deal.currency,
                "expected_close_date": deal.expected_close_date,
                "owner": deal.owner_id,
                "source": deal.source,
                "notes": deal.notes,
            }
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = crm_access.contacts_for(user).order_by(
            "last_name", "first_name"
        )
        self.fields["company"].queryset = crm_access.companies_for(user).order_by("name")
        own_only = crm_access.own_records_only(user)
        current = deal.owner if deal else None
        self.fields["owner"].queryset = user_choices(current, only=user if own_only else None)
        if deal is None:
            self.fields["stage"].queryset = Stage.objects.filter(
                pipeline__archived=False
            ).select_related("pipeline")
            self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name}: {s.name}"
        else:
            del self.fields["stage"]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("stage", None)
        return data


class MoveForm(BaseForm):
    stage = forms.ModelChoiceField(queryset=Stage.objects.all())


class LoseForm(BaseForm):
    reason = forms.ModelChoiceField(
        queryset=LostReason.objects.filter(active=True), empty_label="Choose a reason"
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs=TEXTAREA_SMALL), label="What happened"
    )


class CreateProposalForm(BaseForm):
    template = forms.ModelChoiceField(
        queryset=ProposalTemplate.objects.filter(archived=False),
        empty_label="Choose a template",
    )
    title = forms.CharField(max_length=200, required=False, help_text="Leave empty for a default")


class CatalogueItemForm(BaseForm):
    name = forms.CharField(max_length=200)
    code = forms.CharField(max_length=50, required=False, label="SKU / code")
    kind = forms.ChoiceField(choices=CatalogueItem.Kind.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs=TEXTAREA_SMALL))
    unit = forms.CharField(max_length=30, initial="hour", help_text="hour, day, month, item …")
    unit_price = forms.DecimalField(min_value=0, max_digits=18, decimal_places=4)
    currency = forms.CharField(max_length=3)
    tax_rate = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, initial=0, label="Tax rate (%)"
    )
    tax_category = forms.ChoiceField(choices=TaxCategory.choices, initial=TaxCategory.STANDARD)
    active = forms.BooleanField(required=False, initial=True)


class TemplateMetaForm(BaseForm):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


# --- The content editor (templates and proposal drafts) -----------------------------------


class SectionForm(BaseForm):
    title = forms.CharField(max_length=200, required=False)
    body = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="HTML allowed (sanitized); merge fields like {{ contact.first_name }}",
    )


class OptionForm(BaseForm):
    key = forms.SlugField(max_length=50, required=False, help_text="e.g. premium")
    title = forms.CharField(max_length=200, required=False)
    group = forms.CharField(
        max_length=50, required=False, help_text="Same group = the client picks one"
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    default = forms.BooleanField(required=False, label="Chosen by default")


class MilestoneForm(BaseForm):
    title = forms.CharField(max_length=200, required=False)
    offset_days = forms.IntegerField(
        min_value=0, max_value=3650, required=False, label="Days after acceptance"
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class InstallmentForm(BaseForm):
    label = forms.CharField(max_length=200, required=False)
    percent = forms.DecimalField(min_value=0, max_value=100, decimal_places=2, required=False)
    due = forms.ChoiceField(choices=list(DUE_CHOICES.items()), initial="signing")
    milestone = forms.IntegerField(
        min_value=1, required=False, label="Milestone no.", help_text="When due on a milestone"
    )


SectionFormSet = formset_factory(SectionForm, extra=1, can_delete=True)
OptionFormSet = formset_factory(OptionForm, extra=1, can_delete=True)
MilestoneFormSet = formset_factory(MilestoneForm, extra=1, can_delete=True)
InstallmentFormSet = formset_factory(InstallmentForm, extra=1, can_delete=True)


class ScheduleForm(BaseForm):
    kind = forms.ChoiceField(
        choices=[
            ("installments", "Instalments (e.g. 50% on signing, 50% on completion)"),
            ("milestones", "Per milestone"),
            ("retainer", "Monthly retainer"),
        ],
        label="Payment schedule",
    )
    term_months = forms.IntegerField(
        min_value=1, max_value=120, required=False, label="Retainer term (months)"
    )
    in_scope = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="One item per line"
    )
    out_of_scope = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="One item per line"
    )
    terms = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="HTML allowed (sanitized); merge fields allowed",
    )


def _rows(formset) -> list[dict[str, Any]]:
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not data or data.get("DELETE"):
            continue
        rows.append({k: v for k, v in data.items() if k != "DELETE"})
    return rows


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ContentEditor:
    """Sections, options, scope, milestones, payment schedule and terms, as one editor."""

    def __init__(self, data=None, *, content: dict[str, Any] | None = None):
        content = content or {}
        schedule = content.get("payment_schedule") or {}
        bound = data is not None
        self.sections = SectionFormSet(
            data if bound else None,
            prefix="sections",
            initial=None if bound else content.get("sections", []),
        )
        self.options = OptionFormSet(
            data if bound else None,
            prefix="options",
            initial=None if bound else content.get("options", []),
        )
        self.milestones = MilestoneFormSet(
            data if bound else None,
            prefix="milestones",
            initial=None if bound else content.get("milestones", []),
        )
        installments = [
            {**i, "milestone": (i["milestone"] + 1) if i.get("milestone") is not None else None}
            for i in schedule.get("items", [])
        ]
        self.installments = InstallmentFormSet(
            data if bound else None,
            prefix="schedule",
            initial=None if bound else installments,
        )
        self.schedule = ScheduleForm(
            data if bound else None,
            initial=None
            if bound
            else {
                "kind": schedule.get("kind", "installments"),
                "term_months": schedule.get("term_months"),
                "in_scope": "\n".join(content.get("in_scope", [])),
                "out_of_scope": "\n".join(content.get("out_of_scope", [])),
                "terms": content.get("terms", ""),
            },
        )

    @property
    def formsets(self):
        return [self.sections, self.options, self.milestones, self.installments]

    def is_valid(self) -> bool:
        results = [f.is_valid() for f in self.formsets] + [self.schedule.is_valid()]
        return all(results)

    def to_content(self) -> dict[str, Any]:
        s = self.schedule.cleaned_data
        items = []
        for row in _rows(self.installments):
            if row.get("percent") is None and not row.get("label"):
                continue
            milestone = row.get("milestone")
            items.append(
                {
                    "label": row.get("label", ""),
                    "percent": str(row["percent"]) if row.get("percent") is not None else "",
                    "due": row.get("due") or "signing",
                    "milestone": milestone - 1 if milestone else None,
                }
            )
        kind = s["kind"] if s["kind"] in SCHEDULE_KINDS else "installments"
        return {
            "sections": [r for r in _rows(self.sections) if r.get("title") or r.get("body")],
            "options": [r for r in _rows(self.options) if r.get("key") or r.get("title")],
            "milestones": [r for r in _rows(self.milestones) if r.get("title")],
            "in_scope": _lines(s.get("in_scope")),
            "out_of_scope": _lines(s.get("out_of_scope")),
            "payment_schedule": {
                "kind": kind,
                "items": items,
                "term_months": s.get("term_months"),
            },
            "terms": s.get("terms", ""),
        }

    def add_errors(self, exc) -> list[str]:
        """Service errors keyed like ``sections.0.body``: shown on the page as a list."""
        messages = []
        for key, values in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
            label = "" if key == "__all__" else key.replace("_", " ").replace(".", " › ") + ": "
            messages.extend(f"{label}{v}" for v in values)
        return messages


class TemplateLineForm(BaseForm):
    item = forms.ModelChoiceField(
        queryset=CatalogueItem.objects.filter(active=True), required=False, label="Catalogue item"
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Empty: the item's name and description",
    )
    quantity = forms.DecimalField(min_value=0, decimal_places=4, initial=1, required=False)
    discount_percent = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, initial=0, required=False, label="Discount %"
    )
    option = forms.CharField(max_length=50, required=False, help_text="Option key, if optional")


TemplateLineFormSet = formset_factory(TemplateLineForm, extra=1, can_delete=True)


class TemplateSettingsForm(BaseForm):
    currency = forms.CharField(max_length=3)
    valid_days = forms.IntegerField(min_value=1, max_value=365, label="Proposals valid for (days)")
    change_note = forms.CharField(max_length=300, required=False, label="What changed")


class ProposalLineForm(BaseForm):
    catalogue_item = forms.CharField(required=False, widget=forms.HiddenInput)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    quantity = forms.DecimalField(min_value=0, decimal_places=4, initial=1)
    unit = forms.CharField(max_length=30, required=False)
    unit_price = forms.DecimalField(min_value=0, decimal_places=4)
    discount_percent = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, initial=0, required=False, label="Discount %"
    )
    tax_rate = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, initial=0, label="Tax %"
    )
    tax_category = forms.ChoiceField(choices=TaxCategory.choices, initial=TaxCategory.STANDARD)
    option = forms.CharField(max_length=50, required=False)


ProposalLineFormSet = formset_factory(ProposalLineForm, extra=1, can_delete=True)


def proposal_line_rows(formset) -> list[dict[str, Any]]:
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        rows.append(
            {
                "item": data.get("catalogue_item") or None,
                "description": data["description"],
                "quantity": str(data["quantity"]),
                "unit": data.get("unit", ""),
                "unit_price": str(data["unit_price"]),
                "discount_percent": str(data.get("discount_percent") or 0),
                "tax_rate": str(data["tax_rate"]),
                "tax_category": data["tax_category"],
                "option": data.get("option", ""),
            }
        )
    return rows


class ProposalSettingsForm(BaseForm):
    title = forms.CharField(max_length=200)
    discount_percent = forms.DecimalField(
        min_value=0,
        max_value=100,
        decimal_places=2,
        required=False,
        label="Discount on the total (%)",
    )
    valid_until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    change_note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What changed in this version",
    )


class AddItemForm(BaseForm):
    item = forms.ModelChoiceField(
        queryset=CatalogueItem.objects.filter(active=True), empty_label="Choose an item"
    )
    quantity = forms.DecimalField(min_value=0, decimal_places=4, initial=1)


class CommentForm(BaseForm):
    body = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Comment",
        help_text="Mention a colleague with @name",
    )
    internal = forms.BooleanField(required=False, label="Internal (the client does not see it)")


class ClientCommentForm(BaseForm):
    body = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}), label="Comment"
    )
    requests_change = forms.BooleanField(required=False, label="I would like changes")


class AcceptForm(BaseForm):
    version = forms.UUIDField(widget=forms.HiddenInput)
    name = forms.CharField(max_length=200, label="Your full name")
    email = forms.EmailField(required=False, label="Your e-mail address")
    agreed = forms.BooleanField(
        required=False, label="I accept this proposal, its scope and its terms"
    )


class DecisionForm(BaseForm):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class StageForm(BaseForm):
    name = forms.CharField(max_length=100)
    probability = forms.IntegerField(min_value=0, max_value=100, label="Win probability (%)")
    stall_after_days = forms.IntegerField(
        min_value=1, required=False, label="Stalled after (days idle)"
    )


class LostReasonForm(BaseForm):
    name = forms.CharField(max_length=100)
    active = forms.BooleanField(required=False, initial=True)


class PolicyForm(BaseForm):
    max_discount_percent = forms.DecimalField(
        min_value=0, max_value=100, decimal_places=2, required=False, label="Discount above (%)"
    )
    total_threshold = forms.DecimalField(
        min_value=0, decimal_places=2, required=False, label="Total before tax above"
    )
    threshold_currency = forms.CharField(max_length=3, label="Currency of the threshold")
    nonstandard_terms_need_approval = forms.BooleanField(
        required=False, label="Changed terms or payment schedule need approval"
    )
