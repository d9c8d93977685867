"""Per-step statistics of a sequence: what each step did, and the stops that followed it."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count

from throughline.automation.models import Enrollment, EnrollmentStep, Sequence
from throughline.automation.sequences.services import stop_label
from throughline.messaging.models import OutboundMessage


@dataclass
class StepStats:
    step: object
    outcomes: Counter = field(default_factory=Counter)
    delivered: int = 0
    stopped: Counter = field(default_factory=Counter)  # stop reason -> count

    @property
    def sent(self) -> int:
        return self.outcomes[EnrollmentStep.Outcome.SENT]

    @property
    def skipped_no_consent(self) -> int:
        return self.outcomes[EnrollmentStep.Outcome.NO_CONSENT]

    @property
    def suppressed(self) -> int:
        return self.outcomes[EnrollmentStep.Outcome.SUPPRESSED]

    @property
    def replied(self) -> int:
        return self.stopped["replied"]

    @property
    def stopped_rows(self) -> list[tuple[str, int]]:
        return [(stop_label(reason), n) for reason, n in sorted(self.stopped.items())]


@dataclass
class SequenceStats:
    enrolled: int
    by_status: dict[str, int]
    stopped_by_reason: list[tuple[str, int]]
    steps: list[StepStats]
    stopped_before_first_step: int


def sequence_stats(sequence: Sequence) -> SequenceStats:
    steps = list(sequence.steps.order_by("position", "id"))
    by_step = {step.pk: StepStats(step) for step in steps}
    ledger = (
        EnrollmentStep.objects.filter(enrollment__sequence=sequence, step__isnull=False)
        .values("step_id", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in ledger:
        if row["step_id"] in by_step:
            by_step[row["step_id"]].outcomes[row["outcome"]] = row["n"]
    delivered = (
        EnrollmentStep.objects.filter(
            enrollment__sequence=sequence, message__status=OutboundMessage.Status.SENT
        )
        .values("step_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in delivered:
        if row["step_id"] in by_step:
            by_step[row["step_id"]].delivered = row["n"]
    enrollments = Enrollment.objects.filter(sequence=sequence)
    by_status = dict(enrollments.values_list("status").annotate(n=Count("id")).order_by())
    stops = (
        enrollments.filter(status=Enrollment.Status.STOPPED)
        .values("last_step_id", "stop_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    totals: defaultdict[str, int] = defaultdict(int)
    before_first = 0
    for row in stops:
        totals[row["stop_reason"]] += row["n"]
        if row["last_step_id"] in by_step:
            by_step[row["last_step_id"]].stopped[row["stop_reason"]] += row["n"]
        else:
            before_first += row["n"]
    return SequenceStats(
        enrolled=sum(by_status.values()),
        by_status=by_status,
        stopped_by_reason=[(stop_label(r), n) for r, n in sorted(totals.items())],
        steps=[by_step[step.pk] for step in steps],
        stopped_before_first_step=before_first,
    )
