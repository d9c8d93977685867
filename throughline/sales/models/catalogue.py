"""Products and services we sell: used by proposal templates and proposals (and invoices later)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from throughline.core.models.base import TimestampedModel
from throughline.core.models.organization import validate_currency

PRICE = {"max_digits": 18, "decimal_places": 4}
RATE = {
    "max_digits": 5,
    "decimal_places": 2,
    "validators": [MinValueValidator(0), MaxValueValidator(100)],
}


class TaxCategory(models.TextChoices):
    """EN 16931 VAT category codes (UNCL5305 subset)."""

    STANDARD = "S", "Standard rate"
    ZERO = "Z", "Zero rated"
    EXEMPT = "E", "Exempt"
    REVERSE_CHARGE = "AE", "Reverse charge"
    INTRA_EU = "K", "Intra-community supply"
    EXPORT = "G", "Export outside the EU"
    OUTSIDE_SCOPE = "O", "Outside the scope of VAT"


class CatalogueItem(TimestampedModel):
    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        PRODUCT = "product", "Product"

    name = models.CharField(max_length=200)
    code = models.CharField("SKU / code", max_length=50, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SERVICE)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=30, default="item", help_text="hour, day, month, item …")
    unit_price = models.DecimalField(**PRICE)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    tax_rate = models.DecimalField("tax rate (%)", default=0, **RATE)
    tax_category = models.CharField(
        max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="uniq_catalogue_code"
            )
        ]

    def __str__(self) -> str:
        return self.name
