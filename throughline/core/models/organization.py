import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models


def validate_currency(value: str) -> None:
    from babel.numbers import list_currencies

    if value not in list_currencies():
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


def validate_region(value: str) -> None:
    import phonenumbers

    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"{value!r} is not a phone region (ISO 3166 alpha-2).")


def default_working_hours() -> dict:
    # ISO weekday (1 = Monday) -> [start, end] in local time; weekends closed.
    return {str(day): ["09:00", "17:00"] for day in range(1, 6)}


class Organization(models.Model):
    """The business this installation runs for (one per installation)."""

    legal_name = models.CharField(max_length=200, default="My Business")
    trading_name = models.CharField(max_length=200, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166 alpha-2")
    vat_id = models.CharField("VAT id", max_length=40, blank=True)
    tax_id = models.CharField("Tax / company registration id", max_length=40, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(blank=True)
    base_currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    default_phone_region = models.CharField(
        max_length=2, default="US", validators=[validate_region]
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    working_hours = models.JSONField(default=default_working_hours, blank=True)
    logo = models.ImageField(upload_to="org/", blank=True)
    brand_color = models.CharField(max_length=7, default="#2554c7")
    bank_account_name = models.CharField(max_length=200, blank=True)
    iban = models.CharField("IBAN", max_length=34, blank=True)
    bic = models.CharField("BIC", max_length=11, blank=True)
    bank_details = models.TextField(blank=True, help_text="Other payment instructions")
    require_two_factor = models.BooleanField(default=False)
    sales_own_records_only = models.BooleanField(
        default=False, help_text="Sales users see only records they own."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "organization"

    def __str__(self) -> str:
        return self.trading_name or self.legal_name

    @classmethod
    def current(cls) -> "Organization":
        """The installation's organization, created with defaults on first use."""
        from throughline.core.lookup_cache import cached_config

        def load() -> Organization:
            org = cls.objects.order_by("pk").first()
            if org is None:
                org, _ = cls.objects.get_or_create(pk=1)
            return org

        return cached_config("core.organization", load)

    def clean(self) -> None:
        hours = self.working_hours or {}
        if not isinstance(hours, dict):
            raise ValidationError({"working_hours": "Working hours must map weekdays to spans."})
        for day, span in hours.items():
            if day not in {str(d) for d in range(1, 8)}:
                raise ValidationError({"working_hours": f"Unknown weekday {day!r} (1-7)."})
            if not (isinstance(span, list) and len(span) == 2 and span[0] < span[1]):
                raise ValidationError({"working_hours": f"Weekday {day}: give [start, end]."})
