"""What the cash-flow forecast expects to receive, as of a day, using only what was known then.

Each source returns ``Expected`` items: an amount in the base currency, the probability that it
arrives at all, and its timing as equally likely day offsets (from ``as_of``). The definitions
are in forecast.py (and on the page, and in docs/REPORTS.md).
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import numpy as np
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber, TruncDate

from throughline.core import money
from throughline.reports.aging import open_by_client
from throughline.reports.common import (
    REPORT_WORK_MEM,
    fetch_many,
    installed,
    org_tz,
    side_by_side,
    start_of_day,
)

TERMS_DAYS = 30  # billing's default terms (billing.services.dates.DEFAULT_TERMS_DAYS)
HISTORY_LIMIT = 50  # a client's most recent paid invoices that shape its timing
MIN_HISTORY = 3  # fewer paid invoices than this: the terms (the due date) are used
SPREAD_DAYS = 30  # later than the client ever was: spread evenly over the next 30 days
NO_CLOSE_DATE_DAYS = 30  # an open deal without an expected close date: assumed to close then
FOLDED_SPREAD = -1_000_000  # marks a client's open invoices spread over the next SPREAD_DAYS


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
    contact id as text. (PostgreSQL: see OPEN_WITH_HISTORY_SQL.)"""
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


# PostgreSQL, one statement: the open invoices at ``as_of``, each of their clients' lateness
# history (``h``: the ``HISTORY_LIMIT`` most recent paid invoices, read newest first from the
# partial index billing_inv_paid_history — a few index pages per client, however many invoices
# the client has) and the open invoices grouped per client and due day, the rows whose timing
# no longer depends on the due date folded into one row per client: overdue ones of a client
# with too little history (paid "today" on the terms: 0) and those later than the client has
# ever been (spread: FOLDED_SPREAD). The open invoices come back as one row of arrays ('g', -,
# clients, days to due, amounts) — far faster to read than as many rows — summed per client and
# day by ``_grouped``; the histories one row per client ('h', client, -, days late sorted);
# clients are numbered in id order.
#
# Two ways to find the open invoices, one result. Today (nothing settled after ``as_of``):
# the clients and their open totals from billing_client_open (kept by a trigger: billing
# migration 0006), and per client only the invoices due on or after its fold date, read one
# by one from the index of open invoices by client and due date (billing_inv_open); the
# folded amount is the client's total less those (issued invoices always have a due date:
# billing.services.invoicing; foreign totals are converted unrounded, so a folded amount may
# differ from the sum of rounded conversions by under a minor unit per invoice). The clients
# in halves of the id space (``CLIENT_HALVES``), one statement each, side by side. A past
# date: reports.aging's open rows at that date, each folded by its client's history.
OPEN_TODAY_WITH_HISTORY_SQL = """
WITH c AS (
  SELECT o.contact_id,
         SUM(CASE WHEN o.currency = %(base)s THEN o.amount_due ELSE o.rated_amount END) AS total
  FROM billing_client_open o
  WHERE o.invoices > 0 AND o.contact_id BETWEEN %(first)s AND %(last)s
  GROUP BY o.contact_id
),
h AS (
  SELECT c.contact_id, c.total, row_number() OVER (ORDER BY c.contact_id) AS k, l.late,
         COALESCE(cardinality(l.late), 0) AS n
  FROM c {history}
),
u AS (
  SELECT h.k, r.due_date - %(as_of)s::date AS due_in, r.issue_date <= %(as_of)s AS issued,
         {amount} AS amount
  FROM h JOIN billing_invoice r ON {open_any_day} AND r.due_date >= {fold_date}
),
g AS (
  SELECT h.k, {folded} AS due_in, ROUND(h.total - COALESCE(a.above, 0), {places}) AS amount
  FROM h LEFT JOIN (SELECT u.k, SUM(u.amount) AS above FROM u GROUP BY u.k) a ON a.k = h.k
  WHERE ROUND(h.total - COALESCE(a.above, 0), {places}) > 0
  UNION ALL
  SELECT u.k, u.due_in, u.amount FROM u WHERE u.issued
)
{output}
"""
OPEN_WITH_HISTORY_SQL = """
WITH o AS MATERIALIZED (
  SELECT r.contact_id, r.due, {open_amount} AS amount
  FROM ({rows}) r
  WHERE ROUND(r.open_amount, 6) > 0 AND (r.currency = %(base)s OR r.exchange_rate IS NOT NULL)
),
h AS (
  SELECT c.contact_id, c.k, l.late, COALESCE(cardinality(l.late), 0) AS n
  FROM (
    SELECT d.contact_id, row_number() OVER (ORDER BY d.contact_id) AS k
    FROM (SELECT contact_id FROM o GROUP BY contact_id) d
  ) c {history}
),
g AS (
  SELECT h.k, o.amount,
         CASE WHEN o.due < {fold_date} THEN {folded} ELSE o.due - %(as_of)s::date END AS due_in
  FROM o JOIN h ON h.contact_id = o.contact_id
)
{output}
"""
# Ids are random (UUID 4): each half holds about half the clients.
CLIENT_HALVES = (
    ("00000000-0000-0000-0000-000000000000", "7fffffff-ffff-ffff-ffff-ffffffffffff"),
    ("80000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
)
# The pieces both statements share.
SQL_PIECES = {
    # ``c.contact_id``'s lateness history, most recent first, sorted: ``l.late``
    "history": """
  CROSS JOIN LATERAL (
    SELECT array_agg(x.late ORDER BY x.late) AS late
    FROM (
      SELECT (i.paid_at AT TIME ZONE %(tz)s)::date - i.due_date AS late
      FROM billing_invoice i
      WHERE i.contact_id = c.contact_id AND i.document_type = 'invoice'
        AND i.paid_at IS NOT NULL AND i.paid_at < %(until)s AND i.due_date IS NOT NULL
      ORDER BY i.paid_at DESC
      LIMIT %(limit)s
    ) x
  ) l""",
    # Due before this date: folded. A client with enough history folds what is due before
    # as_of − its latest lateness (spread), one without folds what is overdue (the terms).
    "fold_date": "%(as_of)s::date - CASE WHEN h.n >= %(min)s THEN h.late[h.n] ELSE 0 END",
    "folded": "CASE WHEN h.n >= %(min)s THEN %(spread)s ELSE 0 END",
    "amount": """CASE WHEN r.currency = %(base)s THEN r.amount_due
         ELSE ROUND(r.amount_due * r.exchange_rate, {places}) END""",
    "open_amount": """CASE WHEN r.currency = %(base)s THEN r.open_amount
         ELSE ROUND(r.open_amount * r.exchange_rate, {places}) END""",
    "open_any_day": """r.contact_id = h.contact_id AND r.document_type = 'invoice'
      AND r.amount_due > 0 AND r.status <> 'draft'
      AND (r.currency = %(base)s OR r.exchange_rate IS NOT NULL)""",
    "output": """
SELECT 'g', NULL::int, array_agg(g.k::int), array_agg(g.due_in::int), array_agg(g.amount::float8)
FROM g
UNION ALL
SELECT 'h', h.k::int, NULL, h.late, NULL FROM h WHERE h.n > 0""",
}


def _open_with_history(as_of: dt.date, base: str) -> tuple[tuple[np.ndarray, ...], tuple]:
    """PostgreSQL: the folded groups as arrays ``(clients, days to due, amounts)`` ordered by
    days to due and client, and the histories as ``(clients, days late)`` ordered by client,
    each client's sorted — a client being its number here (in id order, as the text ids sort)
    rather than its id. See OPEN_WITH_HISTORY_SQL."""
    from throughline.reports.aging import open_rows, settled_through

    params = {
        "base": base,
        "tz": str(org_tz()),
        "until": start_of_day(as_of),
        "limit": HISTORY_LIMIT,
        "min": MIN_HISTORY,
        "as_of": as_of,
        "spread": FOLDED_SPREAD,
    }
    places = money.minor_unit(base)
    pieces = {k: v.replace("{places}", str(places)) for k, v in SQL_PIECES.items()}
    pieces["places"] = str(places)
    if settled_through(as_of):
        sql = OPEN_TODAY_WITH_HISTORY_SQL.format(**pieces)
        parts = [{**params, "first": first, "last": last} for first, last in CLIENT_HALVES]
    else:
        rows_sql, rows_params = open_rows(as_of, fast=False)
        # The open rows' own placeholders are positional: name them for this statement.
        names = [f"r{i}" for i in range(len(rows_params))]
        params.update(zip(names, rows_params, strict=True))
        rows_sql = rows_sql.replace("%s", "{}").format(*(f"%({n})s" for n in names))
        sql = OPEN_WITH_HISTORY_SQL.format(rows=rows_sql, **pieces)
        parts = [params]
    fetched = side_by_side(*(partial(fetch_many, sql, part, REPORT_WORK_MEM) for part in parts))
    # Clients are numbered within each part: part i's numbers move up by i × 2³².
    clients, due_in, amounts, history = [], [], [], []
    for index, rows in enumerate(fetched):
        offset = index << 32
        for kind, client, numbers, values, amount in rows:
            if kind == "g":
                clients.append(np.array(numbers or [], dtype=np.int64) + offset)
                due_in.append(np.array(values or [], dtype=np.int64))
                amounts.append(np.array(amount or [], dtype=float))
            else:
                history.append((client + offset, values))
    # Renumbered 1…n over the clients with open invoices, in id order, whatever the parts.
    keys, clients = np.unique(np.concatenate(clients), return_inverse=True)
    groups = _grouped(clients + 1, np.concatenate(due_in), np.concatenate(amounts))
    known = set(keys.tolist())
    history = sorted(h for h in history if h[0] in known)  # of those clients only
    late_of = np.repeat(
        np.searchsorted(keys, np.array([c for c, _ in history], dtype=np.int64)) + 1,
        np.array([len(v) for _, v in history], dtype=np.int64),
    )
    late = np.fromiter(itertools.chain.from_iterable(v for _, v in history), dtype=np.int64)
    return groups, (late_of, late)


def _grouped(clients: np.ndarray, due_in: np.ndarray, amount: np.ndarray) -> tuple:
    """Rows of one client and day summed into one (cheaper here than in the database), in the
    order of day, then client."""
    if not len(amount):
        return clients, due_in, amount
    order = np.lexsort((clients, due_in))
    clients, due_in, amount = clients[order], due_in[order], amount[order]
    new = np.r_[True, (clients[1:] != clients[:-1]) | (due_in[1:] != due_in[:-1])]
    starts = np.flatnonzero(new)
    return clients[starts], due_in[starts], np.add.reduceat(amount, starts)


def invoice_items(as_of: dt.date, base: str) -> Items:
    """Open invoices at ``as_of`` — those of one client due the same day as one item, paid
    together — on due date + a lateness drawn from the client's own history, given that they
    are still unpaid on ``as_of``; on the terms without enough history. Vectorized: one
    searchsorted over every client's sorted history at once."""
    from django.db import connection

    if connection.vendor == "postgresql":
        (clients, due_in, amount), (late_of, late) = _open_with_history(as_of, base)
    else:
        groups = open_by_client(as_of, base)
        history = lateness_history({g[0] for g in groups}, as_of) if groups else {}
        clients = np.array([g[0] for g in groups], dtype=object)
        due_in = np.array([g[1] for g in groups], dtype=np.int64)
        amount = np.array([g[3] for g in groups], dtype=float)
        late_of = np.array([c for c in sorted(history) for _ in history[c]], dtype=object)
        late = np.array([d for c in sorted(history) for d in history[c]], dtype=np.int64)
    n = len(amount)
    if not n:
        return Items.empty()
    contacts, who = np.unique(clients, return_inverse=True)
    who = who.astype(np.int64)
    # Pool: [0] (a single day), [0 … 29] (the spread), then the histories of these clients,
    # client after client (in ``contacts`` order), each sorted.
    head = 1 + SPREAD_DAYS
    mine = np.isin(late_of, contacts)
    owner = np.searchsorted(contacts, late_of[mine]).astype(np.int64)
    pool = np.concatenate([np.zeros(1, dtype=np.int64), np.arange(SPREAD_DAYS), late[mine]])
    lens = np.bincount(owner, minlength=len(contacts)).astype(np.int64)
    starts = head + np.cumsum(lens) - lens
    # The first history case still possible (due_in + late ≥ 0) in each client's segment, for
    # all groups at once: keys that order the segments one after another.
    span = 2 * int(max(np.abs(pool).max(initial=0), np.abs(due_in).max(initial=0))) + 2
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
    from django.db import connection

    if connection.vendor == "postgresql":
        return _pipeline_arrays(_pipeline_in_sql(as_of, rates))
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
    return _pipeline_arrays((amount, probability, offset))


# PostgreSQL: the same deals, stage probabilities and offsets computed in one statement and
# returned as three arrays (one row: far faster to read than 100k rows) in no particular order
# (forecast.simulate orders deals by their data); amounts converted by
# ``factor`` (base units per unit) of each currency with a known rate — deals in other
# currencies are left out, as above.
PIPELINE_SQL = """
WITH changed AS (
  SELECT DISTINCT deal_id FROM sales_dealstagechange WHERE at >= %(moment)s
), stage_then AS (
  SELECT DISTINCT ON (c.deal_id) c.deal_id, st.probability
  FROM sales_dealstagechange c
  JOIN changed USING (deal_id)
  JOIN sales_stage st ON st.id = c.to_stage_id
  WHERE c.at < %(moment)s
  ORDER BY c.deal_id, c.at DESC, c.id DESC
)
SELECT array_agg(x.amount), array_agg(x.probability), array_agg(x.offset_days)
FROM (
SELECT d.value::float8 * f.factor AS amount,
       COALESCE(t.probability, s.probability)::float8 AS probability,
       GREATEST(COALESCE(d.expected_close_date, %(no_date)s::date) - %(as_of)s::date, 0)
         AS offset_days
FROM (
  SELECT id, value, currency, expected_close_date, stage_id FROM sales_deal
  WHERE status = 'open' AND created_at < %(moment)s
  UNION ALL
  SELECT id, value, currency, expected_close_date, stage_id FROM sales_deal
  WHERE status <> 'open' AND closed_at >= %(moment)s AND created_at < %(moment)s
) d
JOIN unnest(%(currencies)s::text[], %(factors)s::float8[]) AS f(currency, factor)
  ON f.currency = d.currency
JOIN sales_stage s ON s.id = d.stage_id
LEFT JOIN stage_then t ON t.deal_id = d.id
) x
"""


def _pipeline_in_sql(as_of: dt.date, rates: Rates) -> tuple[np.ndarray, ...]:

    from throughline.sales.models import Deal

    moment = start_of_day(as_of)
    open_then = (  # as PIPELINE_SQL's two parts, each through its index
        Deal.objects.filter(status=Deal.Status.OPEN),
        Deal.objects.filter(closed_at__gte=moment).exclude(status=Deal.Status.OPEN),
    )
    currencies = set()
    for deals in open_then:
        currencies.update(deals.order_by().values_list("currency", flat=True).distinct())
    factors = {}
    for currency in sorted(currencies):
        one = rates.to_base(Decimal(1_000_000), currency)
        if one is not None:
            factors[currency] = float(one) / 1_000_000
    params = {
        "moment": moment,
        "as_of": as_of,
        "no_date": as_of + dt.timedelta(days=NO_CLOSE_DATE_DAYS),
        "currencies": list(factors),
        "factors": list(factors.values()),
    }
    ((amount, probability, offset),) = fetch_many(PIPELINE_SQL, params)  # arrays: one row
    return (
        np.round(np.array(amount or [], dtype=float), 2),
        np.array(probability or [], dtype=float),
        np.array(offset or [], dtype=np.int64),
    )


def _pipeline_arrays(columns: tuple[np.ndarray, ...]) -> Items:
    """Items from the deals' base amounts, stage probabilities (percent) and day offsets."""
    amount, probability, offset = columns
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
