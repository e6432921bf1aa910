"""Sessions (issue 13): idle timeout that background refreshes do not extend, an absolute
lifetime, and the index of one's own signed-in sessions with per-session and "everywhere else"
sign-out.

- At sign-in (user_logged_in) the session gets its start and last-activity times, and a
  UserSession row (device, client address, times) is written.
- SessionActivityMiddleware, on every request of a signed-in user: a session idle for longer than
  settings.SESSION_IDLE_TIMEOUT, or older than settings.SESSION_ABSOLUTE_AGE, is ended (audited
  `access.session.expired`). A request that is not a background one (no `X-Background: 1`
  header: the polling elements of the worklists and progress panels send it) counts as activity:
  the last-activity time moves, at most once every SESSION_ACTIVITY_WRITE_INTERVAL (60 s), and
  only then is the session (and its cookie) saved: SESSION_SAVE_EVERY_REQUEST is off.
- Sign-out (user_logged_out) deletes the row; revoking a session deletes the Django session.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.client import client_ip
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor

from .models import UserSession

START_KEY = "_xq_started"
SEEN_KEY = "_xq_seen"
BACKGROUND_HEADER = "X-Background"


def idle_timeout() -> int:
    return int(getattr(settings, "SESSION_IDLE_TIMEOUT", settings.SESSION_COOKIE_AGE))


def absolute_age() -> int:
    return int(getattr(settings, "SESSION_ABSOLUTE_AGE", 12 * 3600))


def is_background(request: HttpRequest) -> bool:
    """A request the page makes by itself (polling, auto-refresh): not the user's activity."""
    return request.headers.get(BACKGROUND_HEADER) == "1"


def activity_write_interval() -> int:
    """Seconds: the last-activity time moves at most this often."""
    return int(getattr(settings, "SESSION_ACTIVITY_WRITE_INTERVAL", 60))


def _store(session_key: str) -> Any:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=session_key)


# --- signals --------------------------------------------------------------------------------------


def on_signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    now = timezone.now()
    ip = client_ip(request)
    request.session[START_KEY] = int(now.timestamp())
    request.session[SEEN_KEY] = int(now.timestamp())
    if request.session.session_key is None:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "public_id": secrets.token_hex(16),
            "created_at": now,
            "last_seen": now,
            "ip": ip[:45],
            "user_agent": request.headers.get("User-Agent", "")[:300],
        },
    )


def on_signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()


def connect() -> None:
    from django.contrib.auth.signals import user_logged_in, user_logged_out

    user_logged_in.connect(on_signed_in, dispatch_uid="xinqiao.access.sessions.signed_in")
    user_logged_out.connect(on_signed_out, dispatch_uid="xinqiao.access.sessions.signed_out")


# --- middleware -----------------------------------------------------------------------------------


class SessionActivityMiddleware:
    """Ends idle and too-old sessions; counts only the user's own requests as activity."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._check(request, user)
        return self.get_response(request)

    def _check(self, request: HttpRequest, user: Any) -> None:
        session = request.session
        now = int(timezone.now().timestamp())
        started = session.get(START_KEY)
        seen = session.get(SEEN_KEY)
        if started is None or seen is None:  # signed in before this existed
            session[START_KEY] = started = now
            session[SEEN_KEY] = seen = now
        reason = ""
        if now - started > absolute_age():
            reason = "absolute"
        elif now - seen > idle_timeout():
            reason = "idle"
        if reason:
            _expire(request, user, reason)
            return
        if not is_background(request) and now - seen >= activity_write_interval():
            session[SEEN_KEY] = now
            if session.session_key:
                UserSession.objects.filter(session_key=session.session_key).update(
                    last_seen=timezone.now()
                )


def _expire(request: HttpRequest, user: Any, reason: str) -> None:
    from .scope import principal_for

    key = request.session.session_key
    record_event(actor=user, action="access.session.expired", obj=user, fields={"reason": reason})
    if key:
        UserSession.objects.filter(session_key=key).delete()
    request.session.flush()
    request.user = AnonymousUser()
    if hasattr(request, "principal"):
        request.principal = principal_for(request.user)


# --- reads and writes -----------------------------------------------------------------------------


def _live(user: Any) -> Any:
    """The user's sessions that are still valid: not idle too long, not too old."""
    now = timezone.now()
    return UserSession.objects.filter(
        user=user,
        last_seen__gte=now - timedelta(seconds=idle_timeout()),
        created_at__gte=now - timedelta(seconds=absolute_age()),
    )


def list_own_sessions(*, user: Any, current_key: str | None) -> list[dict[str, Any]]:
    """The signed-in user's active sessions, the current one first, then the latest active."""
    UserSession.objects.filter(user=user).exclude(pk__in=_live(user).values("pk")).delete()
    rows = []
    for row in _live(user).order_by("-last_seen"):
        rows.append(
            {
                "id": row.public_id,
                "current": row.session_key == current_key,
                "device": describe_user_agent(row.user_agent),
                "ip": row.ip,
                "created_at": row.created_at,
                "last_seen": row.last_seen,
            }
        )
    rows.sort(key=lambda r: not r["current"])
    return rows


def _end(row: UserSession) -> None:
    _store(row.session_key).delete()
    row.delete()


@transaction.atomic
def revoke_session(*, actor: Actor, user: Any, public_id: str, current_key: str | None) -> None:
    """Sign one of the user's own sessions out (not the current one: that is signing out)."""
    row = UserSession.objects.filter(user=user, public_id=public_id).first()
    if row is None:
        raise UserSession.DoesNotExist
    if row.session_key == current_key:
        raise DomainError(_("To end this session, sign out."))
    record_event(
        actor=actor,
        action="access.session.revoked",
        obj=user,
        fields={"sessions": 1, "ip": row.ip},
    )
    _end(row)


@transaction.atomic
def revoke_other_sessions(*, actor: Actor, user: Any, current_key: str | None) -> int:
    """Sign the user out everywhere but in this session."""
    rows = list(UserSession.objects.filter(user=user).exclude(session_key=current_key or ""))
    for row in rows:
        _end(row)
    record_event(
        actor=actor, action="access.session.revoked", obj=user, fields={"sessions": len(rows)}
    )
    return len(rows)


def has_other_sessions(*, user: Any, current_key: str | None) -> bool:
    return UserSession.objects.filter(user=user).exclude(session_key=current_key or "").exists()


def end_all_sessions(*, user: Any) -> None:
    """Every session of the user ends (an administrator set a new password)."""
    for row in UserSession.objects.filter(user=user):
        _end(row)


def rekey(*, old_key: str | None, new_key: str | None) -> None:
    """The session's key changed (Django cycles it when the password is changed)."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


# --- user agent -----------------------------------------------------------------------------------

_BROWSERS = (
    (r"MicroMessenger", "WeChat"),
    (r"QQBrowser", "QQ Browser"),
    (r"UCBrowser", "UC Browser"),
    (r"Edg(?:e|A|iOS)?/", "Edge"),
    (r"Firefox/|FxiOS", "Firefox"),
    (r"Chrome/|CriOS", "Chrome"),
    (r"Version/[\d.]+.*Safari/", "Safari"),
)
_SYSTEMS = (
    (r"HarmonyOS", "HarmonyOS"),
    (r"Android", "Android"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"Linux|X11", "Linux"),
)


def describe_user_agent(agent: str) -> str:
    """ "Chrome · Windows" from a User-Agent header (names of products: not translated)."""
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, agent)), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, agent)), "")
    parts = [p for p in (browser, system) if p]
    return " · ".join(parts) if parts else _("Unknown browser")
