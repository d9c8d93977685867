"""EN 16931 arithmetic (DESIGN §5): properties over random invoices, and the rounding cases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.billing.conftest import TODAY, line
from throughline.billing.models import Invoice
from throughline.billing.services import calculation, credit_notes, payments
from throughline.billing.services.errors import InvoiceStateError
from throughline.core import money

D = Decimal
RATES = {"S": ["5", "5.5", "7", "10", "19", "20", "21", "25"], "Z": ["0"], "AE": ["0"], "K": ["0"]}


def decimals(low, high, places):
    return st.decimals(
        min_value=D(low), max_value=D(high), places=places, allow_nan=False, allow_infinity=False
    )


@st.composite
def lines(draw):
    category = draw(st.sampled_from(sorted(RATES)))
    return {
        "description": "x",
        "quantity": str(draw(decimals("0.0001", "9999", 4).filter(lambda d: d > 0))),
        "unit_price": str(draw(decimals("0", "99999", 4))),
        "discount": str(draw(decimals("0", "100", 2))),
        "tax_rate": draw(st.sampled_from(RATES[category])),
        "tax_category": category,
    }


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(lines(), min_size=1, max_size=12),
    discount=decimals("0", "100", 2),
    currency=st.sampled_from(["EUR", "GBP", "JPY", "CHF"]),
)
def test_totals_are_sums_of_rounded_parts(rows, discount, currency):
    clean = calculation.clean_lines(rows, currency)
    figures = calculation.compute(clean, currency, discount_percent=discount)
    totals = figures.totals
    places = money.minor_unit(currency)

    def exact(value):
        return money.quantize(value, currency) == value

    nets = [f.net for f in figures.lines]
    assert all(exact(n) and n >= 0 for n in nets)
    assert totals.lines_net == sum(nets, D(0))
    assert totals.allowance == sum((D(g["allowance"]) for g in figures.breakdown), D(0))
    assert (
        totals.net
        == sum((D(g["base"]) for g in figures.breakdown), D(0))
        == totals.lines_net - totals.allowance
    )
    assert totals.tax == sum((D(g["tax"]) for g in figures.breakdown), D(0))
    assert totals.gross == totals.net + totals.tax
    for group in figures.breakdown:
        base, rate = D(group["base"]), D(group["rate"])
        assert D(group["lines_net"]) - D(group["allowance"]) == base
        assert D(group["tax"]) == money.quantize(base * rate / 100, currency)  # once per group
        group_lines = [
            f.net
            for row, f in zip(clean, figures.lines, strict=True)
            if (row.vat_category, money.quantize_rate(row.vat_rate)) == (group["category"], rate)
        ]
        assert D(group["lines_net"]) == sum(group_lines, D(0))
    assert all(exact(v) for v in (totals.net, totals.tax, totals.gross, totals.allowance))
    assert -totals.gross.as_tuple().exponent <= max(places, 0) or totals.gross == 0


@pytest.mark.parametrize(
    "rows, currency, expected_net, expected_tax",
    [
        ([line("half a cent", "1", "0.005", "20")], "EUR", "0.01", "0.00"),  # half up
        ([line("thirds", "3", "33.3333", "20")], "EUR", "100.00", "20.00"),
        # VAT per category, not per line: 3 × round(0.066) would be 0.21
        (
            [
                line("a", "1", "0.33", "20"),
                line("b", "1", "0.33", "20"),
                line("c", "1", "0.33", "20"),
            ],
            "EUR",
            "0.99",
            "0.20",
        ),
        ([line("discount", "1", "10.00", "20", discount="33.33")], "EUR", "6.67", "1.33"),
        (
            [line("fixed discount", "2", "10.00", "20", discount_amount="0.99")],
            "EUR",
            "19.01",
            "3.80",
        ),
        ([line("yen", "3", "333.3333", "10")], "JPY", "1000", "100"),
        ([line("yen rounding", "1", "0.5", "10")], "JPY", "1", "0"),
        (
            [line("two rates", "1", "10.05", "5.5"), line("x", "1", "10.05", "20")],
            "EUR",
            "20.10",
            "2.56",
        ),
    ],
)
def test_rounding_cases(rows, currency, expected_net, expected_tax):
    figures = calculation.compute(calculation.clean_lines(rows, currency), currency)
    assert figures.totals.net == D(expected_net)
    assert figures.totals.tax == D(expected_tax)
    assert figures.totals.gross == D(expected_net) + D(expected_tax)


def test_document_discount_is_taken_per_vat_group():
    rows = [line("a", "1", "10.01", "20"), line("b", "1", "10.01", "5")]
    figures = calculation.compute(
        calculation.clean_lines(rows, "EUR"), "EUR", discount_percent=D("12.5")
    )
    # 12.5% of 10.01 = 1.25125 → 1.25 in each group (never 2.5025 → 2.50 overall, split later)
    assert [g["allowance"] for g in figures.breakdown] == ["1.25", "1.25"]
    assert figures.totals.allowance == D("2.50") and figures.totals.net == D("17.52")


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"unit_price": "1.00001"}, "lines.0.unit_price"),
        ({"quantity": "0.00001"}, "lines.0.quantity"),
        ({"quantity": "-1"}, "lines.0.quantity"),
        ({"quantity": "0"}, "lines.0.quantity"),
        ({"unit_price": "-5"}, "lines.0.unit_price"),
        ({"tax_rate": "20.001"}, "lines.0.tax_rate"),
        ({"tax_rate": "120"}, "lines.0.tax_rate"),
        ({"tax_rate": "0", "tax_category": "S"}, "lines.0.tax_rate"),
        ({"tax_rate": "20", "tax_category": "AE"}, "lines.0.tax_rate"),
        ({"tax_category": "XX"}, "lines.0.tax_category"),
        ({"tax_rate": "0", "tax_category": "E"}, "lines.0.exemption_reason"),
        (
            {"exemption_reason_code": "VATEX-NOPE", "tax_rate": "0", "tax_category": "E"},
            "lines.0.exemption_reason_code",
        ),
        ({"discount": "101"}, "lines.0.discount"),
        ({"discount_amount": "0.001"}, "lines.0.discount_amount"),
        ({"discount_amount": "500"}, "lines.0.discount"),
        ({"description": "  "}, "lines.0.description"),
        ({"unit_price": "1e400"}, "lines.0.unit_price"),
        ({"unit_price": "NaN"}, "lines.0.unit_price"),
    ],
)
def test_bad_lines_are_refused_with_the_field_named(bad, field):
    with pytest.raises(ValidationError) as caught:
        calculation.clean_lines([{**line(), **bad}], "EUR")
    assert field in caught.value.message_dict, caught.value.message_dict


def test_unknown_currency_is_refused(actor, client_contact):
    from throughline.billing.services import invoicing

    with pytest.raises(ValidationError) as caught:
        invoicing.create_invoice(actor, contact=client_contact, currency="XYZ", lines=[line()])
    assert "currency" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        invoicing.create_invoice(
            actor,
            contact=client_contact,
            currency="JPY",
            lines=[line(unit_price="1.5", discount_amount="0.5")],
        )
    assert "lines.0.discount_amount" in caught.value.message_dict


# --- settlement properties (database) ---------------------------------------------------

operations = st.lists(
    st.tuples(
        st.sampled_from(["pay", "refund", "credit", "credit_all"]),
        decimals("0.01", "200", 2),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_amount_due_is_never_negative_and_credit_never_exceeds_the_invoice(
    actor, make_invoice, ops
):
    invoice = make_invoice(
        lines=[line("Days", "2", "50.00", "20"), line("Book", "1", "20.00", "5")], issue=True
    )  # 120.00 + 21.00 = 141.00
    made = []
    for kind, amount in ops:
        try:
            if kind == "pay":
                made.append(
                    payments.record_payment(
                        actor, invoice=invoice, amount=amount, received_on=TODAY, send_receipt=False
                    )
                )
            elif kind == "refund" and made:
                payment = made[-1]
                payment.refresh_from_db()
                payments.refund_payment(actor, payment, amount=min(amount, payment.refundable))
            elif kind == "credit":
                credit_notes.credit_invoice(
                    actor,
                    invoice,
                    reason="p",
                    lines=[line("Days", "1", str(min(amount, 50)), "20")],
                )
            elif kind == "credit_all":
                credit_notes.credit_invoice(actor, invoice, reason="all")
        except (ValidationError, InvoiceStateError):
            pass  # refused: more than allowed, nothing changed
        invoice.refresh_from_db()
        credited = credit_notes.settlement.credited_gross(invoice)
        assert invoice.amount_due >= 0
        assert (
            invoice.amount_due
            == invoice.payable_total - invoice.amount_paid - invoice.amount_credited
        )
        assert credited <= invoice.gross_total
        assert invoice.amount_paid >= 0
        if invoice.amount_due == 0:
            assert invoice.status in (Invoice.Status.PAID, Invoice.Status.VOID)
        for payment in made:
            payment.refresh_from_db()
            assert 0 <= payment.amount_allocated <= payment.amount - payment.amount_refunded
