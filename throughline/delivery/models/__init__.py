from throughline.delivery.models.projects import (
    ChecklistItem,
    Milestone,
    MilestoneReview,
    NpsResponse,
    OnboardingResponse,
    Project,
    ProjectComment,
    QAPass,
    RetainerPeriod,
    SharedFile,
    Testimonial,
    WorkItem,
)
from throughline.delivery.models.templates import (
    DeliverySettings,
    ProjectTemplate,
    ProjectTemplateVersion,
    ProposalProjectTemplate,
)

__all__ = [
    "ChecklistItem",
    "DeliverySettings",
    "Milestone",
    "MilestoneReview",
    "NpsResponse",
    "OnboardingResponse",
    "Project",
    "ProjectComment",
    "ProjectTemplate",
    "ProjectTemplateVersion",
    "ProposalProjectTemplate",
    "QAPass",
    "RetainerPeriod",
    "SharedFile",
    "Testimonial",
    "WorkItem",
]
