from throughline.core.models.api import ApiToken, IdempotencyRecord
from throughline.core.models.audit import AuditChainHead, AuditEntry, Channel
from throughline.core.models.config import ConfigStamp
from throughline.core.models.events import DomainEvent, HandledEvent
from throughline.core.models.jobs import ScheduleState, WorkerHeartbeat
from throughline.core.models.organization import Organization
from throughline.core.models.public_tokens import PublicToken
from throughline.core.models.users import User

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "Channel",
    "ConfigStamp",
    "AuditEntry",
    "DomainEvent",
    "HandledEvent",
    "IdempotencyRecord",
    "Organization",
    "PublicToken",
    "ScheduleState",
    "User",
    "WorkerHeartbeat",
]
