"""What an operator needs to see that the alert chain moves: one report, three readers.

`/healthz` (monitoring), `manage.py health` (a shell) and the alert worklist's "stalled" warning
read the same `report()`. Core checks the database, Redis and the background runners' heartbeats;
apps add their own figures with `register` (alerts: the oldest hand-in waiting for its alert;
notifications: the oldest notification not yet delivered). Figures are counts and ages only:
nothing here names a child.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

# A runner sweeps every 30 s and a hand-in's alert is asked for within a second: either waiting
# longer than this means the chain is stalled.
STALE_AFTER = datetime.timedelta(minutes=2)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    age_s: float | None = None  # the figure, in seconds, where the check has one
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "age_s": self.age_s, "detail": self.detail}


_probes: dict[str, Callable[[], Check]] = {}


def register(name: str, probe: Callable[[], Check]) -> None:
    """Add an app's figure to the report (from its AppConfig.ready)."""
    _probes[name] = probe


def oldest_age(name: str, oldest: datetime.datetime | None, *, what: str) -> Check:
    """A queue's check: healthy while its oldest row is younger than STALE_AFTER."""
    if oldest is None:
        return Check(name, ok=True, age_s=0.0, detail=f"no {what} waiting")
    age = max((timezone.now() - oldest).total_seconds(), 0.0)
    return Check(
        name,
        ok=age < STALE_AFTER.total_seconds(),
        age_s=round(age, 1),
        detail=f"oldest {what} waiting {age:.0f} s",
    )


def _database() -> Check:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Check("database", ok=True, detail=f"{(time.monotonic() - started) * 1000:.0f} ms")


def _redis() -> Check:
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return Check("redis", ok=True, detail="not used (embedded default)")
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return Check("redis", ok=True, detail="ping")


def _runners() -> Check:
    """The newest heartbeat of the runners that sweep the queues. Production needs one (a Celery
    worker); the embedded default's runner starts with the first request, so only a stale
    heartbeat fails there."""
    from .models import Heartbeat

    beat = Heartbeat.objects.order_by("-at").first()
    embedded = bool(settings.CELERY_TASK_ALWAYS_EAGER)
    if beat is None:
        return Check(
            "worker",
            ok=embedded,
            detail="no heartbeat yet" if embedded else "no worker has ever reported",
        )
    age = max((timezone.now() - beat.at).total_seconds(), 0.0)
    return Check(
        "worker",
        ok=age < STALE_AFTER.total_seconds(),
        age_s=round(age, 1),
        detail=f"{beat.name} reported {age:.0f} s ago",
    )


def report(*, only: frozenset[str] | None = None) -> list[Check]:
    """Every check (or those named in `only`); one that raises is reported failed with its error
    (never a 500)."""
    checks = []
    probes = {"database": _database, "redis": _redis, "worker": _runners, **_probes}
    for name, probe in probes.items():
        if only is not None and name not in only:
            continue
        try:
            checks.append(probe())
        except Exception as exc:  # a failing dependency is the answer, not an error
            log.warning("health: %s check failed: %s", name, exc)
            detail = f"{type(exc).__name__}: {exc}"[:300]
            checks.append(Check(name, ok=False, detail=detail))
    return checks


# The checks of the alert chain (screening → alert → notification), as the worklist words them.
STALLED_TEXTS = {
    "worker": _("the background worker has not reported for %(minutes)s minutes"),
    "hand_ins": _("a hand-in has waited %(minutes)s minutes for its alert check"),
    "notifications": _("a notification has waited %(minutes)s minutes to be delivered"),
}


def stalled_alert_chain(*, exclude: frozenset[str] = frozenset()) -> list[str]:
    """What holds up the alert chain, in the user's words (the worklist's warning); [] when
    it moves. `exclude`: checks the page reports in its own scope."""
    found = []
    for check in report(only=frozenset(STALLED_TEXTS) - exclude):
        if check.ok:
            continue
        minutes = max(int((check.age_s or 0) // 60), 1)
        found.append(str(STALLED_TEXTS[check.name] % {"minutes": minutes}))
    return found
