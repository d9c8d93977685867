"""EN 16931 arithmetic (DESIGN §5): examples worked by hand, and properties that must always hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from throughline.core import money
from throughline.core.money import TaxLine

D = Decimal
CURRENCIES = ["EUR", "GBP", "USD", "JPY", "BHD", "CHF"]

quantities = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False)
prices = st.decimals(min_value=0, max_value=100_000, places=4, allow_nan=False)
percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)
rates = st.sampled_from([D("0"), D("5"), D("7"), D("10"), D("19"), D("20"), D("21"), D("25.5")])
currencies = st.sampled_from(CURRENCIES)


def test_minor_units_come_from_the_currency():
    assert money.minor_unit("EUR") == 2
    assert money.minor_unit("jpy") == 0
    assert money.minor_unit("BHD") == 3
    with pytest.raises(money.MoneyError):
        money.minor_unit("XXQ")


def test_quantize_rounds_half_up_to_the_minor_unit():
    assert money.quantize("2.345", "EUR") == D("2.35")
    assert money.quantize("2.344", "EUR") == D("2.34")
    assert money.quantize("-2.345", "EUR") == D("-2.35")
    assert money.quantize("1234.5", "JPY") == D("1235")
    assert money.quantize("1.0005", "BHD") == D("1.001")


def test_floats_are_refused():
    with pytest.raises(money.MoneyError):
        money.quantize(0.1, "EUR")
    with pytest.raises(money.MoneyError):
        money.to_decimal("NaN")
    with pytest.raises(money.MoneyError):
        money.to_decimal("twelve")


def test_line_net_subtracts_the_allowance_then_rounds():
    # 3 × 33.3333 = 99.9999 → 100.00 ; with a 10 % allowance (10.00) → 90.00
    assert money.line_net("3", "33.3333", "EUR") == D("100.00")
    allowance = money.line_allowance("3", "33.3333", "EUR", percent="10")
    assert allowance == D("10.00")
    assert money.line_net("3", "33.3333", "EUR", allowance) == D("90.00")


def test_vat_is_computed_per_category_not_per_line():
    # Three lines of 0.05 at 10 %: per line 0.01 each (0.005 rounds up) = 0.03, per category 0.02.
    lines = [TaxLine(D("0.05"), D("10"))] * 3
    totals = money.document_totals(lines, "EUR")
    assert totals.net == D("0.15")
    assert totals.tax == D("0.02")
    assert totals.gross == D("0.17")


def test_several_rates_and_a_document_discount():
    lines = [
        TaxLine(D("2850.00"), D("20")),
        TaxLine(D("1084.50"), D("5")),
        TaxLine(D("400.00"), D("0"), "Z"),
    ]
    totals = money.document_totals(lines, "GBP", allowance_percent="10")
    by_rate = {(b.category, b.rate): b for b in totals.breakdown}
    assert by_rate["S", D("20.00")].allowance == D("285.00")
    assert by_rate["S", D("20.00")].base == D("2565.00")
    assert by_rate["S", D("20.00")].tax == D("513.00")
    assert by_rate["S", D("5.00")].allowance == D("108.45")
    assert by_rate["S", D("5.00")].tax == D("48.80")  # 976.05 × 5 % = 48.8025
    assert by_rate["Z", D("0.00")].tax == D("0.00")
    assert totals.lines_net == D("4334.50")
    assert totals.allowance == D("433.45")
    assert totals.net == D("3901.05")
    assert totals.tax == D("561.80")
    assert totals.gross == D("4462.85")


def test_allocate_splits_without_losing_a_cent():
    assert money.allocate("100", [1, 1, 1], "EUR") == [D("33.34"), D("33.33"), D("33.33")]
    assert money.allocate("4558.73", [50, 50], "GBP") == [D("2279.37"), D("2279.36")]
    assert money.allocate("1000", [1, 1, 1], "JPY") == [D("334"), D("333"), D("333")]
    with pytest.raises(money.MoneyError):
        money.allocate("10", [0, 0], "EUR")


def test_format_money_is_for_display():
    assert money.format_money("1234.5", "GBP") == "£1,234.50"
    assert money.format_money("1234.5", "JPY", locale="en_US") == "¥1,235"


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False),
    currency=currencies,
)
def test_quantize_is_idempotent_and_close(amount, currency):
    once = money.quantize(amount, currency)
    assert money.quantize(once, currency) == once
    assert -once.as_tuple().exponent == money.minor_unit(currency) or once == 0
    step = D(1).scaleb(-money.minor_unit(currency))
    assert abs(once - amount) <= step / 2


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.tuples(quantities, prices, percents, rates), min_size=1, max_size=12),
    discount=percents,
    currency=currencies,
)
def test_document_totals_are_sums_of_their_rounded_parts(lines, discount, currency):
    tax_lines = []
    for quantity, price, percent, rate in lines:
        allowance = money.line_allowance(quantity, price, currency, percent=percent)
        net = money.line_net(quantity, price, currency, allowance)
        assert net == money.quantize(net, currency)
        tax_lines.append(TaxLine(net, rate))
    totals = money.document_totals(tax_lines, currency, allowance_percent=discount)
    assert totals.lines_net == sum((t.net for t in tax_lines), D(0))
    assert totals.net == totals.lines_net - totals.allowance
    assert totals.net == sum((b.base for b in totals.breakdown), D(0))
    assert totals.tax == sum((b.tax for b in totals.breakdown), D(0))
    assert totals.gross == totals.net + totals.tax
    for b in totals.breakdown:
        assert b.tax == money.quantize(b.base * b.rate / 100, currency)
        assert b.base == b.lines_net - b.allowance
    # One breakdown row per distinct rate.
    assert len(totals.breakdown) == len({money.quantize_rate(r) for *_, r in lines})


@settings(max_examples=300, deadline=None)
@given(
    total=st.decimals(min_value=-(10**7), max_value=10**7, places=3, allow_nan=False),
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=10).filter(any),
    currency=currencies,
)
def test_allocations_always_add_up(total, weights, currency):
    shares = money.allocate(total, weights, currency)
    assert sum(shares, D(0)) == money.quantize(total, currency)
    step = D(1).scaleb(-money.minor_unit(currency))
    weight_sum = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        exact = money.quantize(total, currency) * weight / weight_sum
        assert abs(share - exact) < step
