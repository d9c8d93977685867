"""Internal approval rules: what a proposal version needs before it may be sent.

Rules (``ApprovalPolicy``, editable by owners and admins):

* a discount above the limit — on any line, on the whole proposal, or in effect (how far the
  total ends up below list price);
* a total (before tax) above the threshold — taken over the dearest choice of options, since
  the client picks; a proposal in another currency than the threshold's cannot be compared
  without an exchange rate, so it needs approval whenever a threshold is set;
* non-standard terms — the terms or payment schedule differ from the template version's.

An approval is for the version's exact content (``content_hash``): change anything afterwards
and it lapses. Approvers (``sales.approve``) are e-mailed; they approve or reject with a
comment; both are audited.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events, money
from throughline.core.actor import Actor
from throughline.sales.models import ApprovalPolicy, ProposalApproval, ProposalVersion
from throughline.sales.services import notify, pricing

VStatus = ProposalVersion.Status
AStatus = ProposalApproval.Status


class ApprovalRequired(ValidationError):
    """Sending is blocked until an approver approves this version."""

    def __init__(self, reasons: list[dict[str, str]]):
        self.reasons = reasons
        super().__init__(
            {"approval": [f"Needs approval: {r['detail']}" for r in reasons]},
        )


def _reason(rule: str, detail: str) -> dict[str, str]:
    return {"rule": rule, "detail": detail}


def approval_reasons(version: ProposalVersion) -> list[dict[str, str]]:
    """The rules this version trips, with a sentence each; empty when none."""
    policy = ApprovalPolicy.current()
    proposal = version.proposal
    currency = proposal.currency
    lines = list(version.lines.all())
    options = version.content.get("options", [])
    reasons = []

    limit = policy.max_discount_percent
    if limit is not None:
        worst_line = max((line.discount_percent for line in lines), default=0)
        effective = pricing.effective_discount_percent(
            lines,
            currency,
            version.discount_percent,
            pricing.largest_selection(lines, options, currency),
        )
        biggest = max(worst_line, version.discount_percent, effective)
        if biggest > limit:
            reasons.append(
                _reason(
                    "discount",
                    f"a discount of {biggest.normalize():f}% is above the {limit.normalize():f}% limit",
                )
            )

    threshold = policy.total_threshold
    if threshold is not None:
        if currency != policy.threshold_currency:
            reasons.append(
                _reason(
                    "total",
                    f"the total is in {currency}; the approval threshold is set in "
                    f"{policy.threshold_currency}",
                )
            )
        else:
            selection = pricing.largest_selection(lines, options, currency)
            total = pricing.totals(
                lines, currency, discount_percent=version.discount_percent, selection=selection
            ).net
            if total > threshold:
                reasons.append(
                    _reason(
                        "total",
                        f"the total of {money.format_money(total, currency)} is above "
                        f"{money.format_money(threshold, currency)}",
                    )
                )

    if policy.nonstandard_terms_need_approval:
        template = proposal.template_version.content
        changed = []
        if (version.content.get("terms") or "") != (template.get("terms") or ""):
            changed.append("terms")
        if version.content.get("payment_schedule") != template.get("payment_schedule"):
            changed.append("payment schedule")
        if changed:
            reasons.append(
                _reason(
                    "terms",
                    f"the {' and '.join(changed)} differ from the template's (non-standard terms)",
                )
            )
    return reasons


def is_approved(version: ProposalVersion) -> bool:
    return version.approvals.filter(
        status=AStatus.APPROVED, content_hash=version.content_hash
    ).exists()


def pending_request(version: ProposalVersion) -> ProposalApproval | None:
    return version.approvals.filter(status=AStatus.PENDING).first()


@transaction.atomic
def request_approval(actor: Actor, version: ProposalVersion, note: str = "") -> ProposalApproval:
    from throughline.sales.services.proposals import _editable

    version = _editable(version)
    reasons = approval_reasons(version)
    if not reasons:
        raise ValidationError({"approval": "No rule applies: this version can be sent as it is."})
    if is_approved(version):
        raise ValidationError({"approval": "This version is already approved."})
    existing = pending_request(version)
    if existing is not None and existing.content_hash == version.content_hash:
        return existing
    if existing is not None:
        existing.status = AStatus.CANCELLED
        existing.save(update_fields=["status", "updated_at"])
    approval = ProposalApproval.objects.create(
        version=version,
        reasons=reasons,
        content_hash=version.content_hash,
        requested_by=actor.user,
        comment="",
    )
    old = version.status
    version.status = VStatus.PENDING_APPROVAL
    version.save(update_fields=["status", "updated_at"])
    audit_log.record(
        actor,
        "proposal.approval_requested",
        version,
        changes={
            "status": [old, version.status],
            "reasons": [None, [r["detail"] for r in reasons]],
            "note": [None, (note or "").strip()[:2000]],
        },
    )
    proposal = version.proposal
    notify.email_users(
        actor,
        notify.users_with("sales.approve"),
        subject=f"Approval needed: proposal {proposal.number} v{version.number} ({proposal.title})",
        template="sales/email/approval_requested.txt",
        context={
            "proposal": proposal,
            "version": version,
            "reasons": reasons,
            "note": (note or "").strip()[:2000],
            "by": actor.display,
            "url": notify.staff_url("sales:proposal_detail", proposal.pk),
        },
        source=f"sales.proposal:{proposal.pk}",
        exclude=actor.user,
    )
    return approval


def _decide(
    actor: Actor, approval: ProposalApproval, status: str, comment: str
) -> ProposalApproval:
    if not actor.can("sales.approve"):
        raise PermissionDenied("Your role does not approve proposals.")
    approval = (
        ProposalApproval.objects.select_for_update(of=("self",))
        .select_related("version__proposal")
        .get(pk=approval.pk)
    )
    version = ProposalVersion.objects.select_for_update(of=("self",)).get(pk=approval.version_id)
    if approval.status != AStatus.PENDING:
        raise ValidationError({"approval": f"This request is already {approval.status}."})
    if approval.content_hash != version.content_hash or version.status != VStatus.PENDING_APPROVAL:
        raise ValidationError({"approval": "The proposal changed since approval was requested."})
    comment = (comment or "").strip()[:2000]
    if status == AStatus.REJECTED and not comment:
        raise ValidationError({"comment": "Say why, so the proposal can be fixed."})
    approval.status = status
    approval.decided_by = actor.user
    approval.decided_at = timezone.now()
    approval.comment = comment
    approval.save(update_fields=["status", "decided_by", "decided_at", "comment", "updated_at"])
    version.status = VStatus.APPROVED if status == AStatus.APPROVED else VStatus.DRAFT
    version.save(update_fields=["status", "updated_at"])
    proposal = approval.version.proposal
    audit_log.record(
        actor,
        f"proposal.approval_{status}",
        version,
        changes={
            "status": [VStatus.PENDING_APPROVAL, version.status],
            "comment": [None, comment],
            "reasons": [None, [r["detail"] for r in approval.reasons]],
        },
    )
    if status == AStatus.APPROVED:
        events.emit(
            actor,
            "proposal.approved",
            proposal,
            version=version.number,
            approval_id=str(approval.pk),
            rules=[r["rule"] for r in approval.reasons],
        )
    notify.email_users(
        actor,
        [approval.requested_by, proposal.owner],
        subject=f"Proposal {proposal.number} v{version.number} was {status}",
        template="sales/email/approval_decided.txt",
        context={
            "proposal": proposal,
            "version": version,
            "approval": approval,
            "by": actor.display,
            "url": notify.staff_url("sales:proposal_detail", proposal.pk),
        },
        source=f"sales.proposal:{proposal.pk}",
        exclude=actor.user,
    )
    return approval


@transaction.atomic
def approve(actor: Actor, approval: ProposalApproval, comment: str = "") -> ProposalApproval:
    return _decide(actor, approval, AStatus.APPROVED, comment)


@transaction.atomic
def reject(actor: Actor, approval: ProposalApproval, comment: str) -> ProposalApproval:
    return _decide(actor, approval, AStatus.REJECTED, comment)


def summary(version: ProposalVersion) -> dict[str, Any]:
    """For pages and the API: what is needed, and what was decided."""
    reasons = approval_reasons(version) if version.is_editable else []
    return {
        "reasons": reasons,
        "approved": is_approved(version),
        "pending": pending_request(version),
        "history": list(version.approvals.select_related("requested_by", "decided_by")),
    }


@transaction.atomic
def update_policy(actor: Actor, **data: Any) -> ApprovalPolicy:
    """Change the approval rules (owners and admins, through settings)."""
    policy = ApprovalPolicy.current()
    policy = ApprovalPolicy.objects.select_for_update(of=("self",)).get(pk=policy.pk)
    before = audit_log.snapshot(policy)
    errors = {}
    if "max_discount_percent" in data:
        value = data["max_discount_percent"]
        try:
            policy.max_discount_percent = (
                None if value in (None, "") else money.quantize_rate(value)
            )
            if (
                policy.max_discount_percent is not None
                and not 0 <= policy.max_discount_percent <= 100
            ):
                raise money.MoneyError
        except money.MoneyError:
            errors["max_discount_percent"] = "A percentage from 0 to 100, or empty for no limit."
    if "threshold_currency" in data:
        currency = (data["threshold_currency"] or "").strip().upper()
        try:
            money.minor_unit(currency)
            policy.threshold_currency = currency
        except money.MoneyError as exc:
            errors["threshold_currency"] = str(exc)
    if "total_threshold" in data:
        value = data["total_threshold"]
        try:
            policy.total_threshold = (
                None if value in (None, "") else money.quantize(value, policy.threshold_currency)
            )
            if policy.total_threshold is not None and policy.total_threshold < 0:
                raise money.MoneyError
        except money.MoneyError:
            errors["total_threshold"] = "An amount, or empty for no threshold."
    if "nonstandard_terms_need_approval" in data:
        policy.nonstandard_terms_need_approval = bool(data["nonstandard_terms_need_approval"])
    if errors:
        raise ValidationError(errors)
    changes = audit_log.diff(before, audit_log.snapshot(policy))
    if changes:
        policy.save()
        audit_log.record(actor, "approval_policy.updated", policy, changes=changes)
    return policy
