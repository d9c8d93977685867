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
from collections import defaultdict
from decimal import Decimal

import numpy as np

from throughline.core import money
from throughline.reports.common import base_currency, installed
from throughline.reports.forecast_inputs import (
    Expected,
    Rates,
    invoice_items,
    pipeline_items,
    scheduled_items,
)

SIMULATIONS = 500
MIN_SIMULATIONS = 100
MAX_DRAWS = 5_000_000
SEED = 20_260_101
KINDS = ("open_invoices", "scheduled", "retainers", "pipeline")
_CHUNK = 2_000_000  # simulated draws per numpy batch


def collect(as_of: dt.date, days: int, base: str) -> list[Expected]:
    rates = Rates(as_of, base)
    items: list[Expected] = []
    if installed("billing"):
        items += invoice_items(as_of, base)
    items += scheduled_items(as_of, rates, days)
    items += pipeline_items(as_of, rates)
    return items


def _arrays(items: list[Expected]):
    amounts = np.array([i.amount for i in items], dtype=float)
    probs = np.array([i.probability for i in items], dtype=float)
    lengths = np.array([len(i.offsets) for i in items], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if items else np.zeros(0, np.int64)
    pool = np.fromiter((o for i in items for o in i.offsets), dtype=np.int64)
    return amounts, probs, lengths, starts.astype(np.int64), pool


def expected_by_day(items: list[Expected], days: int) -> tuple[np.ndarray, dict, float]:
    """Exact expectation per day offset (0…days-1), per kind in the horizon, and beyond it."""
    daily = np.zeros(days)
    by_kind = dict.fromkeys(KINDS, 0.0)
    beyond = 0.0
    if not items:
        return daily, by_kind, beyond
    amounts, probs, lengths, _starts, pool = _arrays(items)
    weights = np.repeat(amounts * probs / lengths, lengths)
    inside = pool < days
    daily += np.bincount(pool[inside], weights=weights[inside], minlength=days)[:days]
    beyond = float(weights[~inside].sum())
    kind_of = np.repeat(np.array([KINDS.index(i.kind) for i in items]), lengths)
    for index, kind in enumerate(KINDS):
        by_kind[kind] = float(weights[inside & (kind_of == index)].sum())
    return daily, by_kind, beyond


def simulate(items: list[Expected], days: int, sims: int, seed: int) -> np.ndarray:
    """``sims`` × ``days`` matrix of simulated receipts per day."""
    rng = np.random.default_rng(seed)
    totals = np.zeros(sims * days)
    if not items:
        return totals.reshape(sims, days)
    amounts, probs, lengths, starts, pool = _arrays(items)
    step = max(1, _CHUNK // sims)
    sim_index = np.arange(sims)[:, None] * days
    for lo in range(0, len(items), step):
        hi = min(lo + step, len(items))
        picks = (rng.random((sims, hi - lo)) * lengths[lo:hi]).astype(np.int64)
        when = pool[starts[lo:hi] + picks]
        happens = rng.random((sims, hi - lo)) < probs[lo:hi]
        keep = happens & (when < days)
        flat = (sim_index + when)[keep]
        weights = np.broadcast_to(amounts[lo:hi], keep.shape)[keep]
        totals += np.bincount(flat, weights=weights, minlength=sims * days)
    return totals.reshape(sims, days)


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
    counts: dict = defaultdict(int)
    for item in items:
        counts[item.kind] += 1
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
