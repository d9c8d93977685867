"""What the cash-flow forecast expects to receive, as of a day, using only what was known then.

Each source returns ``Expected`` items: an amount in the base currency, the probability that it
arrives at all, and its timing as equally likely day offsets (from ``as_of``). The definitions
are in forecast.py (and on the page, and in docs/REPORTS.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber, TruncDate

from throughline.core import money
from throughline.reports.aging import open_by_client, open_by_client_folded
from throughline.reports.common import installed, org_tz, start_of_day

TERMS_DAYS = 30  # billing's default terms (billing.services.dates.DEFAULT_TERMS_DAYS)
HISTORY_LIMIT = 50  # a client's most recent paid invoices that shape its timing
MIN_HISTORY = 3  # fewer paid invoices than this: the terms (the due date) are used
SPREAD_DAYS = 30  # later than the client ever was: spread evenly over the next 30 days
NO_CLOSE_DATE_DAYS = 30  # an open deal without an expected close date: assumed to close then


KINDS = ("open_invoices", "scheduled", "retainers", "pipeline")


@dataclass(frozen=True)
class Expected:
    kind: str  # one of KINDS
    label: str
    amount: float  # base currency
    probability: float  # 0…1
    offsets: tuple[int, ...]  # equally likely days after as_of (already ≥ 0)


@dataclass(frozen=True)
class Items:
    """Expected receipts as arrays: item ``i`` arrives with ``probability[i]`` on day
    ``base[i] + pool[start[i] + j]`` for one of ``j < length[i]``, equally likely."""

    kind: np.ndarray
    amount: np.ndarray
    probability: np.ndarray
    base: np.ndarray
    start: np.ndarray
    length: np.ndarray
    pool: np.ndarray

    def __len__(self) -> int:
        return len(self.amount)

    @classmethod
    def empty(cls) -> Items:
        return cls.from_expected([])

    @classmethod
    def from_expected(cls, items: list[Expected]) -> Items:
        lengths = np.array([len(i.offsets) for i in items], dtype=np.int64)
        return cls(
            kind=np.array([KINDS.index(i.kind) for i in items], dtype=np.int64),
            amount=np.array([i.amount for i in items], dtype=float),
            probability=np.array([i.probability for i in items], dtype=float),
            base=np.zeros(len(items), dtype=np.int64),
            start=np.cumsum(lengths) - lengths,
            length=lengths,
            pool=np.array([o for i in items for o in i.offsets], dtype=np.int64),
        )

    def plus(self, other: Items) -> Items:
        return Items(
            kind=np.concatenate([self.kind, other.kind]),
            amount=np.concatenate([self.amount, other.amount]),
            probability=np.concatenate([self.probability, other.probability]),
            base=np.concatenate([self.base, other.base]),
            start=np.concatenate([self.start, other.start + len(self.pool)]),
            length=np.concatenate([self.length, other.length]),
            pool=np.concatenate([self.pool, other.pool]),
        )


def _clip(days: int) -> int:
    return max(0, days)


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(org_tz()).date()


class Rates:
    """Base-currency rate of a currency as known on ``as_of``: the latest rate stored on an
    issued invoice in that currency (deals and proposals carry none)."""

    def __init__(self, as_of: dt.date, base: str):
        self.as_of, self.base, self._cache = as_of, base, {}

    def to_base(self, amount: Decimal, currency: str) -> Decimal | None:
        if currency == self.base:
            return money.quantize(amount, self.base)
        if currency not in self._cache:
            self._cache[currency] = None
            if installed("billing"):
                from throughline.billing.models import Invoice

                self._cache[currency] = (
                    Invoice.objects.filter(
                        currency=currency, issue_date__lt=self.as_of, exchange_rate__isnull=False
                    )
                    .exclude(status=Invoice.Status.DRAFT)
                    .order_by("-issue_date", "-created_at")
                    .values_list("exchange_rate", flat=True)
                    .first()
                )
        rate = self._cache[currency]
        return None if rate is None else money.quantize(amount * rate, self.base)


def lateness_history(contact_ids, as_of: dt.date) -> dict:
    """Days late (paid date − due date; negative: early) of each client's most recent
    ``HISTORY_LIMIT`` invoices fully paid before ``as_of``, sorted ascending; keyed by the
    contact id as text."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return _lateness_in_sql(as_of)
    from throughline.billing.models import DocumentType, Invoice

    recent = (
        Invoice.objects.filter(
            document_type=DocumentType.INVOICE,
            contact_id__in=list(contact_ids),
            paid_at__lt=start_of_day(as_of),
            due_date__isnull=False,
        )
        .annotate(
            recency=Window(
                RowNumber(), partition_by=[F("contact_id")], order_by=F("paid_at").desc()
            ),
            paid_day=TruncDate("paid_at", tzinfo=org_tz()),
        )
        .filter(recency__lte=HISTORY_LIMIT)
        .values_list("contact_id", "due_date", "paid_day")
    )
    history: dict = defaultdict(list)
    for contact_id, due, paid_day in recent:
        history[str(contact_id)].append((paid_day - due).days)
    return {k: sorted(v) for k, v in history.items()}


LATENESS_SQL = """
SELECT contact_id, array_agg(late ORDER BY late)
FROM (
  SELECT contact_id, (paid_at AT TIME ZONE %(tz)s)::date - due_date AS late,
         ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY paid_at DESC) AS recency
  FROM billing_invoice
  WHERE document_type = 'invoice' AND paid_at < %(until)s AND due_date IS NOT NULL
) h
WHERE recency <= %(limit)s
GROUP BY contact_id
"""


def _lateness_in_sql(as_of: dt.date) -> dict:
    """PostgreSQL: each client's sorted lateness as one array (one row per client)."""
    from django.db import connection, transaction

    from throughline.reports.aging import REPORT_WORK_MEM

    params = {"tz": str(org_tz()), "until": start_of_day(as_of), "limit": HISTORY_LIMIT}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(LATENESS_SQL, params)
        return {str(contact): late for contact, late in cursor.fetchall()}


def invoice_items(as_of: dt.date, base: str) -> Items:
    """Open invoices at ``as_of`` — those of one client due the same day as one item, paid
    together — on due date + a lateness drawn from the client's own history, given that they
    are still unpaid on ``as_of``; on the terms without enough history. Vectorized: one
    searchsorted over every client's sorted history at once."""
    from django.db import connection

    if connection.vendor == "postgresql":
        history = lateness_history([], as_of)  # every client's, one array each
        history = {c: late for c, late in history.items() if late}
        groups = open_by_client_folded(as_of, base, history, MIN_HISTORY)
    else:
        groups = open_by_client(as_of, base)
        history = lateness_history({g[0] for g in groups}, as_of) if groups else {}
    n = len(groups)
    if not n:
        return Items.empty()
    contacts = sorted({g[0] for g in groups})
    index = {c: i for i, c in enumerate(contacts)}
    # Pool: [0] (a single day), [0 … 29] (the spread), then each client's sorted lateness.
    head = 1 + SPREAD_DAYS
    segments = [np.zeros(1, dtype=np.int64), np.arange(SPREAD_DAYS, dtype=np.int64)]
    seg_start, seg_len = [], []
    offset = head
    for contact in contacts:
        past = history.get(contact, [])
        seg_start.append(offset)
        seg_len.append(len(past))
        segments.append(np.array(past, dtype=np.int64))
        offset += len(past)
    pool = np.concatenate(segments)
    starts, lens = np.array(seg_start, dtype=np.int64), np.array(seg_len, dtype=np.int64)
    who = np.array([index[g[0]] for g in groups], dtype=np.int64)
    due_in = np.array([g[1] for g in groups], dtype=np.int64)
    amount = np.array([g[3] for g in groups], dtype=float)
    # The first history case still possible (due_in + late ≥ 0) in each client's segment, for
    # all groups at once: keys that order the segments one after another.
    span = 2 * int(max(np.abs(pool).max(initial=0), np.abs(due_in).max(initial=0))) + 2
    owner = np.repeat(np.arange(len(contacts)), lens)
    keys = np.concatenate([np.full(head, -span, dtype=np.int64), owner * span + pool[head:]])
    first = np.searchsorted(keys, who * span - due_in, side="left")
    left = starts[who] + lens[who] - first
    with_history = lens[who] >= MIN_HISTORY
    spread = with_history & (left <= 0)
    fits = with_history & (left > 0)
    return Items(
        kind=np.zeros(n, dtype=np.int64),
        amount=amount,
        probability=np.ones(n),
        base=np.where(fits, due_in, np.where(spread, 0, np.maximum(due_in, 0))),
        start=np.where(fits, first, np.where(spread, 1, 0)).astype(np.int64),
        length=np.where(fits, left, np.where(spread, SPREAD_DAYS, 1)).astype(np.int64),
        pool=pool,
    )


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _billed_since(contact_id, since: dt.date, as_of: dt.date, rates: Rates) -> Decimal:
    from throughline.billing.models import DocumentType, Invoice

    total = Decimal(0)
    for gross, currency in (
        Invoice.objects.filter(
            contact_id=contact_id,
            document_type=DocumentType.INVOICE,
            issue_date__gte=since,
            issue_date__lte=as_of,
        )
        .exclude(status=Invoice.Status.DRAFT)
        .values_list("gross_total", "currency")
    ):
        total += rates.to_base(gross, currency) or 0
    return total


def scheduled_items(as_of: dt.date, rates: Rates, horizon: int) -> list[Expected]:
    """Accepted proposals' payment schedules not invoiced yet, and their retainers."""
    if not installed("sales"):
        return []
    from throughline.sales.models import Proposal

    proposals = (
        Proposal.objects.filter(
            status=Proposal.Status.ACCEPTED, accepted_at__lt=start_of_day(as_of)
        )
        .select_related("accepted_version")
        .order_by("accepted_at", "number")
    )
    items: list[Expected] = []
    for proposal in proposals:
        version = proposal.accepted_version or proposal.latest_version()
        if version is None:
            continue
        gross = rates.to_base(version.gross_total, proposal.currency)
        if gross is None or gross <= 0:
            continue
        accepted = _local_date(proposal.accepted_at)
        schedule = (version.content or {}).get("payment_schedule") or {}
        if schedule.get("kind") == "retainer":
            items += _retainer_items(proposal, accepted, gross, schedule, as_of, horizon)
        else:
            items += _instalment_items(proposal, version, accepted, gross, schedule, as_of, rates)
    return items


def _retainer_items(proposal, accepted, fee, schedule, as_of, horizon) -> list[Expected]:
    term = schedule.get("term_months")
    items = []
    month = 0
    while term is None or month < term:
        invoice_day = _add_months(accepted, month)
        if (invoice_day - as_of).days > horizon:
            break
        if invoice_day >= as_of:  # earlier months are invoices already
            offset = (invoice_day - as_of).days + TERMS_DAYS
            label = f"{proposal.number} retainer {invoice_day:%Y-%m}"
            items.append(Expected("retainers", label, float(fee), 1.0, (offset,)))
        month += 1
    return items


def _instalment_items(proposal, version, accepted, gross, schedule, as_of, rates) -> list:
    milestones = (version.content or {}).get("milestones") or []
    last = max((int(m.get("offset_days") or 0) for m in milestones), default=TERMS_DAYS)
    planned = []
    for item in schedule.get("items") or []:
        due = item.get("due")
        if due == "milestone" and item.get("milestone") is not None:
            day = accepted + dt.timedelta(
                days=int(milestones[int(item["milestone"])].get("offset_days") or 0)
            )
        elif due == "completion":
            day = accepted + dt.timedelta(days=last)
        else:  # signing, start
            day = accepted
        percent = money.to_decimal(str(item.get("percent") or 0))
        amount = money.quantize(gross * percent / 100, rates.base)
        planned.append([day, amount, item.get("label") or due])
    if planned:  # rounded parts add up to the whole: the last takes the remainder
        planned[-1][1] = gross - sum((p[1] for p in planned[:-1]), Decimal(0))
    planned.sort(key=lambda p: p[0])
    # Instalments count as invoiced, in date order, while the client's invoices issued since
    # the acceptance (the deposit included) cover them.
    billed = Decimal(0)
    if proposal.contact_id and installed("billing"):
        billed = _billed_since(proposal.contact_id, accepted, as_of, rates)
    items = []
    covered = Decimal(0)
    for day, amount, label in planned:
        covered += amount
        if covered <= billed:
            continue
        offset = _clip((max(day, as_of) - as_of).days + TERMS_DAYS)
        items.append(
            Expected("scheduled", f"{proposal.number} {label}", float(amount), 1.0, (offset,))
        )
    return items


def pipeline_items(as_of: dt.date, rates: Rates) -> Items:
    """Deals open on ``as_of``: value × the probability of their stage then, received
    ``TERMS_DAYS`` after the expected close (``as_of`` + 30 days without a date; today when past).
    Arrays built column by column (200k deals in the benchmark)."""
    if not installed("sales"):
        return Items.empty()
    from throughline.sales.models import Deal, DealStageChange

    moment = start_of_day(as_of)
    # Stage then: the last change before as_of, for deals whose stage changed since.
    stage_then = {}
    changed_since = DealStageChange.objects.filter(at__gte=moment).values("deal_id")
    changes = (
        DealStageChange.objects.filter(
            deal_id__in=changed_since, at__lt=moment, to_stage__isnull=False
        )
        .order_by("deal_id", "at", "id")
        .values_list("deal_id", "to_stage__probability")
    )
    for deal_id, probability in changes:
        stage_then[deal_id] = probability  # the last one before as_of wins
    columns = ["value", "currency", "expected_close_date", "stage__probability"]
    deals = list(
        Deal.objects.filter(created_at__lt=moment)
        .filter(Q(status=Deal.Status.OPEN) | Q(closed_at__gte=moment))
        .order_by("created_at", "id")
        .values_list(*(["id", *columns] if stage_then else columns))
    )
    if not deals:
        return Items.empty()
    if stage_then:  # ids only when some stage changed since (200k UUIDs are not free)
        ids, values, currencies, closes, current = zip(*deals, strict=True)
    else:
        values, currencies, closes, current = zip(*deals, strict=True)
        ids = (None,) * len(deals)
    factor = {}
    for currency in set(currencies):  # base units per unit, None: no rate known
        one = rates.to_base(Decimal(1_000_000), currency)
        factor[currency] = float(one) / 1_000_000 if one is not None else np.nan
    amount = np.array([float(v) for v in values]) * np.array([factor[c] for c in currencies])
    amount = np.round(amount, 2)
    probability = np.array(
        [stage_then.get(pk, p) for pk, p in zip(ids, current, strict=True)], dtype=float
    )
    no_date = as_of + dt.timedelta(days=NO_CLOSE_DATE_DAYS)
    offset = np.array([max((c or no_date) - as_of, dt.timedelta(0)).days for c in closes])
    keep = (amount > 0) & (probability > 0)  # NaN (no rate) compares False: left out
    n = int(keep.sum())
    return Items(
        kind=np.full(n, KINDS.index("pipeline"), dtype=np.int64),
        amount=amount[keep],
        probability=probability[keep] / 100,
        base=(offset[keep] + TERMS_DAYS).astype(np.int64),
        start=np.zeros(n, dtype=np.int64),
        length=np.ones(n, dtype=np.int64),
        pool=np.zeros(1, dtype=np.int64),
    )
