"""Who is acting and from where, for the audit log, set once per request by the middleware."""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditContext:
    ip: str | None = None
    role: str = ""


# The default is a frozen dataclass, so sharing it between contexts is safe.
current: ContextVar[AuditContext] = ContextVar(
    "audit_context",
    default=AuditContext(),  # noqa: B039
)
