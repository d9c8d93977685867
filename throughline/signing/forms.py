"""Forms of the signing staff pages and the client's signing page."""

from __future__ import annotations

from django import forms

from throughline.core.models import User
from throughline.signing.models import Contract, ContractTemplate, SigningSettings


def usable_templates():
    return ContractTemplate.objects.filter(archived=False, versions__status="approved").distinct()


class ContractCreateForm(forms.Form):
    kind = forms.ChoiceField(choices=Contract.Kind.choices, widget=forms.RadioSelect)
    template = forms.ModelChoiceField(
        queryset=ContractTemplate.objects.none(),
        required=False,
        help_text="Only templates with an approved version are listed.",
    )
    title = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = usable_templates()


class ContractEditForm(forms.Form):
    title = forms.CharField(max_length=200)
    template = forms.ModelChoiceField(queryset=ContractTemplate.objects.none(), required=False)
    sequential = forms.BooleanField(
        required=False, label="Signers sign in order (lower numbers first)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = usable_templates()


class SendForm(forms.Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
        help_text="Shown in the invitation e-mail.",
    )
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=365, required=False, label="Signing open for (days)"
    )


class VoidForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class SigningSettingsForm(forms.ModelForm):
    tsa_url = forms.URLField(
        label="Timestamp authority (RFC 3161) URL",
        required=False,
        assume_scheme="https",
        help_text="Needed for B-T and B-LT",
    )

    class Meta:
        model = SigningSettings
        fields = [
            "document_kind",
            "default_template",
            "draft_on_acceptance",
            "countersigner",
            "link_days",
            "reminder_days",
            "pades_level",
            "tsa_url",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["countersigner"].queryset = User.objects.filter(is_active=True).order_by(
            "email"
        )
        self.fields["default_template"].queryset = usable_templates()

    def clean(self):
        data = super().clean()
        if data.get("pades_level") in ("B-T", "B-LT") and not data.get("tsa_url"):
            self.add_error("tsa_url", "PAdES B-T and B-LT need a timestamp authority URL.")
        return data


class CertificateUploadForm(forms.Form):
    file = forms.FileField(label="PKCS#12 file (.p12, .pfx)")
    password = forms.CharField(widget=forms.PasswordInput, required=False)


class TemplateCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class DecisionForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=12)


class ConsentForm(forms.Form):
    agreed = forms.BooleanField(required=False)


class SignForm(forms.Form):
    document_sha256 = forms.CharField(max_length=64)
    kind = forms.ChoiceField(choices=[("typed", "Type"), ("drawn", "Draw")])
    name = forms.CharField(max_length=200, required=False)
    # A PNG data URL from the canvas; its size and type are checked by the service.
    drawing = forms.CharField(required=False, max_length=500_000, strip=False)
    agreed = forms.BooleanField(required=False)


class DeclineForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
