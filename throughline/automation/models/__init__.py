from throughline.automation.models.notifications import Notification
from throughline.automation.models.sequences import (
    Enrollment,
    EnrollmentStep,
    Sequence,
    SequenceStep,
    StopReason,
)
from throughline.automation.models.workflows import (
    AbsenceWatch,
    CausedEvent,
    StepRun,
    TriggerType,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)

__all__ = [
    "AbsenceWatch",
    "CausedEvent",
    "Enrollment",
    "EnrollmentStep",
    "Notification",
    "Sequence",
    "SequenceStep",
    "StepRun",
    "StopReason",
    "TriggerType",
    "Workflow",
    "WorkflowRun",
    "WorkflowVersion",
]
