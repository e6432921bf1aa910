"""Denied requests in the audit trail: 403 and 404 raised by views, rate-bound per subject.

A subject is the signed-in user, or the client address of an anonymous request. Its first
AUDIT_DENIED_PER_MINUTE denials in a minute are `access.request.denied` events; the rest of that
minute are counted (DeniedRequestTally) and written as one `access.request.denied_summarised`
event once the minute is over: at the subject's next denial, or by the periodic audit task.
A crawler therefore adds at most N + 1 events per minute to the chain.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from .models import DeniedRequestTally
from .services import record_event

# Never audited, whoever asks: browsers and crawlers fetch these by themselves.
QUIET_PATHS = ("/favicon.ico", "/robots.txt", "/apple-touch-icon.png", "/.well-known/")


def limit() -> int:
    return int(getattr(settings, "AUDIT_DENIED_PER_MINUTE", 10))


def _quiet(path: str) -> bool:
    static = settings.STATIC_URL or "/static/"
    if not static.startswith("/"):
        static = "/" + static
    return path.startswith(static) or path.startswith(QUIET_PATHS)


def _subject(request: HttpRequest) -> tuple[str, Any]:
    from .context import current

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}", user
    return f"ip:{current.get().ip or '-'}", None


def record_denied(*, request: HttpRequest, status: int) -> bool:
    """Count one denied request; write its event while under the limit. True if written."""
    if _quiet(request.path):
        return False
    subject, user = _subject(request)
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        _summarise(DeniedRequestTally.objects.filter(subject=subject, minute__lt=minute))
        tally, created = DeniedRequestTally.objects.get_or_create(
            subject=subject, minute=minute, defaults={"count": 1}
        )
        if not created:
            DeniedRequestTally.objects.filter(pk=tally.pk).update(count=F("count") + 1)
            tally.refresh_from_db(fields=["count"])
        if tally.count > limit():
            return False
        record_event(
            actor=user,
            action="access.request.denied",
            object_type="http.request",
            fields={
                "path": request.path[:300],
                "method": request.method,
                "status": status,
                # which parameters were sent, never their values (an ID number typed in a search)
                "query": sorted(request.GET.keys())[:20],
            },
            result="denied",
        )
    return True


def summarise_closed_windows(now: datetime.datetime | None = None) -> int:
    """Write the summaries of every minute that is over; the number of summary events."""
    minute = (now or timezone.now()).replace(second=0, microsecond=0)
    with transaction.atomic():
        return _summarise(DeniedRequestTally.objects.filter(minute__lt=minute))


def _summarise(tallies: Any) -> int:
    written = 0
    rows = list(tallies.select_for_update().order_by("minute", "subject"))
    cap = limit()
    users = get_user_model()
    for tally in rows:
        if tally.count > cap:
            kind, _, key = tally.subject.partition(":")
            actor = users.objects.filter(pk=key).first() if kind == "user" else None
            fields: dict[str, Any] = {
                "minute": tally.minute.isoformat(),
                "denied": tally.count,
                "recorded": cap,
                "not_recorded": tally.count - cap,
            }
            if kind == "ip":
                fields["client"] = key
            record_event(
                actor=actor,
                action="access.request.denied_summarised",
                object_type="http.request",
                fields=fields,
                result="denied",
            )
            written += 1
    if rows:
        DeniedRequestTally.objects.filter(pk__in=[t.pk for t in rows]).delete()
    return written
