"""Cash-flow forecast, day by day, with a p10–p90 range (Monte Carlo, seeded).

Definition (also on the page and in docs/REPORTS.md):

* **Open invoices** (reports.aging's open amount at the start day, base currency): paid on
  due date + a lateness drawn from the client's own history — days late (paid date − due
  date, negative when early) of its ``HISTORY_LIMIT`` (50) most recent fully paid invoices —
  given that the invoice is still unpaid on the start day (history cases already behind us
  are dropped). Later than the client has ever been: spread evenly over the next 30 days.
  Fewer than 3 paid invoices: paid on the due date (the terms); a past due date moves to the
  start day.
* **Scheduled invoices**: payment schedules of accepted proposals — each instalment invoiced
  on signing/start (the acceptance day), on its milestone (acceptance + the milestone's
  offset) or on completion (acceptance + the last milestone's offset), and paid 30 days later
  (the default terms). Instalments count as already invoiced, in date order, while the
  client's invoices issued since the acceptance cover them. **Retainers**: the accepted
  amount invoiced monthly from the acceptance day for the term (open-ended: through the
  horizon), future months only, each paid 30 days after.
* **Weighted pipeline**: deals open on the start day, each arriving with the probability of
  its stage (stage at that day, from the deal's stage history) in full, 30 days after its
  expected close (a past date moves to the start day; no date: start + 30 days).
* Foreign amounts without a stored rate (deals and proposals carry none): converted at the
  latest rate stored on an invoice in that currency; without one they are left out.
* Open invoices of one client due the same day are one item (paid together).
* ``expected`` is the exact expectation (amount × probability × chance of each day).
  The range comes from ``SIMULATIONS`` (500; fewer, down to 100, when items × 500 would
  exceed 5 million draws) simulated futures drawn with a fixed seed: each
  item happens or not (its probability), on one of its equally likely days. ``cumulative_low``
  / ``cumulative_p50`` / ``cumulative_high`` are the 10th / 50th / 90th percentiles of the
  running total on each day — not the sum of per-item extremes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

from throughline.core import money
from throughline.reports.common import base_currency, installed, side_by_side
from throughline.reports.forecast_inputs import (
    KINDS,
    Items,
    Rates,
    invoice_items,
    pipeline_items,
    scheduled_items,
)

SIMULATIONS = 500
MIN_SIMULATIONS = 100
MAX_DRAWS = 5_000_000
SEED = 20_260_101
_CHUNK = 2_000_000  # simulated draws per numpy batch


def collect(as_of: dt.date, days: int, base: str) -> Items:
    """Every expected receipt; the open invoices read side by side with the rest."""
    rates = Rates(as_of, base)

    def invoices() -> Items:
        return invoice_items(as_of, base) if installed("billing") else Items.empty()

    def the_rest() -> Items:
        scheduled = Items.from_expected(scheduled_items(as_of, rates, days))
        return scheduled.plus(pipeline_items(as_of, rates))

    first, rest = side_by_side(invoices, the_rest)
    return first.plus(rest)


def expected_by_day(items: Items, days: int) -> tuple[np.ndarray, dict, float]:
    """Exact expectation per day offset (0…days-1), per kind in the horizon, and beyond it.

    Every (item, possible day) pair at once: item ``i``'s days are ``base[i] + pool[start[i] +
    j]``, each with ``amount × probability / length``; a day past the horizon counts in one
    extra bin per kind."""
    by_kind = dict.fromkeys(KINDS, 0.0)
    if not len(items):
        return np.zeros(days), by_kind, 0.0
    lengths = items.length
    firsts = np.cumsum(lengths) - lengths
    position = np.arange(int(lengths.sum()), dtype=np.int64)
    position += np.repeat(items.start - firsts, lengths)
    when = items.pool[position]
    when += np.repeat(items.base + items.kind * (days + 1), lengths)
    # when = kind × (days + 1) + day, the day clipped to ``days`` (past the horizon)
    np.minimum(when, np.repeat(items.kind * (days + 1) + days, lengths), out=when)
    weights = np.repeat(items.amount * items.probability / lengths, lengths)
    bins = np.bincount(when, weights=weights, minlength=len(KINDS) * (days + 1))
    bins = bins.reshape(len(KINDS), days + 1)
    for index, kind in enumerate(KINDS):
        by_kind[kind] = float(bins[index, :days].sum())
    return bins[:, :days].sum(axis=0), by_kind, float(bins[:, days].sum())


def simulate(items: Items, days: int, sims: int, seed: int) -> np.ndarray:
    """``sims`` × ``days`` matrix of simulated receipts per day.

    Items certain to arrive on one day (probability 1, one day: invoices on the terms,
    instalments, retainers) are the same in every future and added once. Uncertain items of
    one day (deals) draw whether they happen: taken day by day, in an order fixed by the data
    (day, amount, probability — not by how the database returned them), each future's total
    of a day is its hits times the amounts. Items with several possible days (invoices timed
    by a client's history) draw the day, and whether they happen when uncertain, one future
    at a time."""
    rng = np.random.default_rng(seed)
    single = items.length == 1
    when = items.base + items.pool[items.start]  # the day of single-day items
    certain = single & (items.probability >= 1) & (when < days)
    fixed = np.bincount(when[certain], weights=items.amount[certain], minlength=days)
    totals = np.zeros((sims, days + 1))  # the last column: past the horizon
    # Uncertain single-day items, sorted by day (then amount and probability).
    chosen = np.flatnonzero(single & (items.probability < 1) & (when < days))
    chosen = chosen[np.lexsort((items.probability[chosen], items.amount[chosen], when[chosen]))]
    step = max(1, _CHUNK // sims)
    for lo in range(0, len(chosen), step):
        part = chosen[lo : lo + step]
        hits = rng.random((sims, len(part)), dtype=np.float32) < items.probability[part]
        received = hits * items.amount[part]  # sims × items, amounts where the item happens
        day = when[part]
        starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
        totals[:, day[starts]] += np.add.reduceat(received, starts, axis=1)
    # Items with several possible days: per future, a day drawn for each (int32 indexes into
    # the pool), days past the horizon counted in the last column.
    chosen = np.flatnonzero(~single)
    if len(chosen):
        pool = items.pool.astype(np.int32)
        start = items.start[chosen].astype(np.int32)
        length = items.length[chosen].astype(np.float32)
        base = items.base[chosen].astype(np.int32)
        amount = items.amount[chosen]
        probability = items.probability[chosen]
        uncertain = bool((probability < 1).any())
        for sim in range(sims):
            pick = (rng.random(len(chosen), dtype=np.float32) * length).astype(np.int32)
            np.minimum(pick, length.astype(np.int32) - 1, out=pick)  # float rounding up
            on = pool[start + pick] + base
            np.minimum(on, days, out=on)
            if uncertain:
                on[rng.random(len(chosen)) >= probability] = days
            totals[sim] += np.bincount(on, weights=amount, minlength=days + 1)
    return totals[:, :days] + fixed[:days]


def forecast(today: dt.date, days: int, *, sims: int = SIMULATIONS, seed: int = SEED) -> dict:
    base = base_currency()
    items = collect(today, days, base)
    daily, by_kind, beyond = expected_by_day(items, days)
    # Fewer simulations for very many items, so one run stays near MAX_DRAWS random draws.
    sims = max(MIN_SIMULATIONS, min(sims, MAX_DRAWS // max(len(items), 1)))
    paths = np.cumsum(simulate(items, days, sims, seed), axis=1)
    low, mid, high = np.percentile(paths, [10, 50, 90], axis=0)

    def dec(value: float) -> Decimal:
        return money.quantize(Decimal(repr(round(float(value), 6))), base)

    series = []
    running = 0.0
    for offset in range(days):
        running += daily[offset]
        series.append(
            {
                "date": today + dt.timedelta(days=offset),
                "expected": dec(daily[offset]),
                "cumulative": dec(running),
                "cumulative_low": dec(low[offset]),
                "cumulative_p50": dec(mid[offset]),
                "cumulative_high": dec(high[offset]),
            }
        )
    counts = {kind: int((items.kind == i).sum()) for i, kind in enumerate(KINDS)}
    return {
        "from": today,
        "days": days,
        "currency": base,
        "total": dec(running),
        "total_low": dec(low[-1]) if days else dec(0),
        "total_high": dec(high[-1]) if days else dec(0),
        "beyond_horizon": dec(beyond),
        "by_source": {k: {"items": counts[k], "expected": dec(by_kind[k])} for k in KINDS},
        "includes": [k for k in KINDS if counts[k]],
        "method": f"monte_carlo:{sims}:seed={seed}",
        "simulations": sims,
        "seed": seed,
        "series": series,
    }
