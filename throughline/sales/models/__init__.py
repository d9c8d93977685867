from throughline.sales.models.catalogue import CatalogueItem, TaxCategory
from throughline.sales.models.pipeline import (
    Deal,
    DealStageChange,
    LostReason,
    Pipeline,
    Stage,
    stalled_condition,
)
from throughline.sales.models.proposals import (
    ApprovalPolicy,
    CommentAttachment,
    Proposal,
    ProposalAcceptance,
    ProposalApproval,
    ProposalComment,
    ProposalLine,
    ProposalNumber,
    ProposalVersion,
)
from throughline.sales.models.templates import ProposalTemplate, TemplateVersion

__all__ = [
    "ApprovalPolicy",
    "CatalogueItem",
    "CommentAttachment",
    "Deal",
    "DealStageChange",
    "LostReason",
    "Pipeline",
    "Proposal",
    "ProposalAcceptance",
    "ProposalApproval",
    "ProposalComment",
    "ProposalLine",
    "ProposalNumber",
    "ProposalTemplate",
    "ProposalVersion",
    "Stage",
    "TaxCategory",
    "TemplateVersion",
    "stalled_condition",
]
