"""Forms of the core pages. They validate and render; services do the writing."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from functools import cache

from babel import Locale
from babel.numbers import get_currency_name, list_currencies
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError

from throughline.core.models import Channel, Organization, User
from throughline.core.roles import Role

WEEKDAYS = [(1, "Monday"), (2, "Tuesday"), (3, "Wednesday"), (4, "Thursday"), (5, "Friday")]
WEEKDAYS += [(6, "Saturday"), (7, "Sunday")]
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_LOGO_BYTES = 1024 * 1024


# --- choices (computed once per process) ---------------------------------------------------
@cache
def currency_choices() -> list[tuple[str, str]]:
    return [
        (code, f"{code} — {get_currency_name(code, locale='en')}")
        for code in sorted(list_currencies())
    ]


@cache
def region_choices() -> list[tuple[str, str]]:
    import phonenumbers

    names = Locale("en").territories
    return sorted(
        ((code, f"{names.get(code, code)} ({code})") for code in phonenumbers.SUPPORTED_REGIONS),
        key=lambda pair: pair[1],
    )


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [
        (name, name)
        for name in sorted(zoneinfo.available_timezones())
        if "/" in name or name == "UTC"
    ]


# --- sign-in ---------------------------------------------------------------------------------
class LoginForm(AuthenticationForm):
    """Django's form (inputs ``username`` = the e-mail, ``password``), labelled for people."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "inputmode": "email", "autofocus": True}
        )
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"

    def clean_username(self) -> str:
        # E-mails are stored lower-cased; this also gives axes one key per account, so
        # "Vera@Example.com" and "vera@example.com" share one failure count.
        return (self.cleaned_data.get("username") or "").strip().lower()


class ResetPasswordForm(PasswordResetForm):
    """Also reaches invited users who have not set a password yet (Django skips them).

    Every staff account signs in with a local password, so "no usable password" only ever
    means "invited, link not used yet" — exactly who needs the e-mail.
    """

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (u for u in users if u.email.lower() == email.lower())


def send_invitation(request, user: User) -> None:
    """E-mail ``user`` a link to choose a password (the password-reset machinery)."""
    form = ResetPasswordForm({"email": user.email})
    form.is_valid()
    form.save(
        request=request,
        subject_template_name="registration/invite_subject.txt",
        email_template_name="registration/invite_email.txt",
        extra_email_context={"base_url": settings.BASE_URL, "invited_by": request.user},
    )


class TokenCodeForm(forms.Form):
    code = forms.CharField(
        label="Six-digit code",
        max_length=10,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": r"[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise ValidationError("Enter the digits shown in your authenticator app.")
        return code


# --- organization settings -------------------------------------------------------------------
class OrganizationForm(forms.ModelForm):
    """The settings page. Model validators give the field errors (currency, time zone …)."""

    website = forms.URLField(required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = Organization
        fields = [
            "legal_name",
            "trading_name",
            "address_line1",
            "address_line2",
            "postal_code",
            "city",
            "country",
            "vat_id",
            "tax_id",
            "email",
            "phone",
            "website",
            "base_currency",
            "default_phone_region",
            "time_zone",
            "logo",
            "brand_color",
            "bank_account_name",
            "iban",
            "bic",
            "bank_details",
            "sales_own_records_only",
        ]
        widgets = {
            "brand_color": forms.TextInput(attrs={"type": "color"}),
            "bank_details": forms.Textarea(attrs={"rows": 3}),
            "logo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        }
        labels = {
            "address_line1": "Address line 1",
            "address_line2": "Address line 2",
            "email": "E-mail",
            "vat_id": "VAT id",
            "tax_id": "Tax / company registration id",
            "default_phone_region": "Default phone region",
            "brand_color": "Brand colour",
            "bank_account_name": "Account holder",
            "bank_details": "Other payment instructions",
            "sales_own_records_only": "Sales users see only their own records",
        }
        help_texts = {
            "country": "",
            "bank_details": "",
            "default_phone_region": "Phone numbers typed without +country code are read as this.",
            "base_currency": "",
            "sales_own_records_only": "Contacts, companies and tasks owned by others are hidden"
            " from sales users.",
        }

    sections = [
        ("Business", ["legal_name", "trading_name", "email", "phone", "website"]),
        ("Address", ["address_line1", "address_line2", "postal_code", "city", "country"]),
        ("Tax", ["vat_id", "tax_id"]),
        ("Money and locale", ["base_currency", "default_phone_region", "time_zone"]),
        ("Brand", ["logo", "brand_color"]),
        (
            "Bank details (printed on invoices)",
            ["bank_account_name", "iban", "bic", "bank_details"],
        ),
        ("Access", ["sales_own_records_only"]),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Selects keep the model's validators as the judge: a forged value still gets the
        # model's field error rather than passing through.
        self.fields["base_currency"].widget = forms.Select(choices=currency_choices())
        self.fields["default_phone_region"].widget = forms.Select(choices=region_choices())
        self.fields["country"].widget = forms.Select(choices=region_choices())
        self.fields["time_zone"].widget = forms.Select(choices=time_zone_choices())
        hours = (self.instance.working_hours or {}) if self.instance else {}
        for day, name in WEEKDAYS:
            span = hours.get(str(day)) or ["", ""]
            self.fields[f"hours_{day}_start"] = forms.TimeField(
                label=f"{name} from",
                required=False,
                initial=span[0] or None,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )
            self.fields[f"hours_{day}_end"] = forms.TimeField(
                label=f"{name} until",
                required=False,
                initial=span[1] or None,
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )

    def hour_rows(self):
        return [
            (name, self[f"hours_{day}_start"], self[f"hours_{day}_end"]) for day, name in WEEKDAYS
        ]

    def section_fields(self):
        return [(title, [self[name] for name in names]) for title, names in self.sections]

    def clean_base_currency(self) -> str:
        return (self.cleaned_data["base_currency"] or "").strip().upper()

    def clean_brand_color(self) -> str:
        color = (self.cleaned_data["brand_color"] or "").strip()
        if not HEX_COLOR.match(color):
            raise ValidationError("Give a colour as #rrggbb.")
        return color.lower()

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if (
            logo
            and hasattr(logo, "size")
            and "logo" in self.changed_data
            and logo.size > MAX_LOGO_BYTES
        ):
            raise ValidationError("The logo may be at most 1 MB.")
        return logo

    def clean_iban(self) -> str:
        iban = re.sub(r"\s+", "", self.cleaned_data["iban"] or "").upper()
        if not iban:
            return ""
        if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", iban):
            raise ValidationError("This is not an IBAN.")
        digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
        if int(digits) % 97 != 1:
            raise ValidationError("This IBAN's check digits are wrong; please re-check it.")
        return iban

    def clean_bic(self) -> str:
        bic = (self.cleaned_data["bic"] or "").strip().upper()
        if bic and not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", bic):
            raise ValidationError("A BIC has 8 or 11 letters and digits.")
        return bic

    def clean(self):
        data = super().clean()
        hours: dict[str, list[str]] = {}
        for day, _name in WEEKDAYS:
            start: dt.time | None = data.get(f"hours_{day}_start")
            end: dt.time | None = data.get(f"hours_{day}_end")
            if start is None and end is None:
                continue  # closed that day
            if start is None or end is None:
                self.add_error(f"hours_{day}_end", "Give both a start and an end, or neither.")
            elif start >= end:
                self.add_error(f"hours_{day}_end", "The end must be after the start.")
            else:
                hours[str(day)] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
        data["working_hours"] = hours
        return data

    def _post_clean(self):
        # Validate against the model, but on a copy: the form must not change the cached
        # organization in memory; update_organization() applies the changes in its transaction.
        original = self.instance
        self.instance = Organization.objects.get(pk=original.pk) if original.pk else Organization()
        try:
            super()._post_clean()
        finally:
            self.instance = original

    def changes(self) -> dict:
        """Keyword arguments for ``services.update_organization``."""
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields if name != "logo"}
        if "logo" in self.changed_data:
            fields["logo"] = self.cleaned_data["logo"] or ""
        fields["working_hours"] = self.cleaned_data["working_hours"]
        return fields


# --- users -----------------------------------------------------------------------------------
class UserCreateForm(forms.Form):
    INVITE, GENERATE = "invite", "generate"

    email = forms.EmailField(label="E-mail")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
    sign_in = forms.ChoiceField(
        label="How they get a password",
        choices=[
            (INVITE, "E-mail them a link to choose their own password"),
            (GENERATE, "Generate a password and show it to me once"),
        ],
        initial=INVITE,
        widget=forms.RadioSelect,
    )


class UserUpdateForm(forms.Form):
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(
        label="Active (may sign in)",
        required=False,
        help_text="Deactivating signs the person out everywhere and keeps their history.",
    )
    out_of_office = forms.BooleanField(
        required=False, help_text="Out-of-office users are skipped when work is assigned."
    )

    def __init__(self, *args, user: User, editor: User, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "full_name": user.full_name,
                "role": user.role,
                "is_active": user.is_active,
                "out_of_office": user.out_of_office,
            },
        )
        super().__init__(*args, **kwargs)
        self.user, self.editor = user, editor

    def clean_is_active(self) -> bool:
        active = self.cleaned_data["is_active"]
        if not active and self.user.pk == self.editor.pk:
            raise ValidationError("You cannot deactivate your own account.")
        return active


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, initial="API token", help_text="What uses it, e.g. “website form”."
    )


# --- audit log -------------------------------------------------------------------------------
class AuditFilterForm(forms.Form):
    actor = forms.ModelChoiceField(
        queryset=User.objects.all(), required=False, empty_label="Anyone"
    )
    object_type = forms.CharField(
        label="Record type",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "e.g. crm.contact", "list": "object-types"}),
    )
    object_id = forms.CharField(label="Record id", required=False, max_length=64)
    action = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "e.g. contact. or user.updated"}),
        help_text="Starts with",
    )
    channel = forms.ChoiceField(choices=[("", "Any")] + Channel.choices, required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Must be on or after the start date.")
        return data
