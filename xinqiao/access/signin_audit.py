"""Sign-in, sign-out, failed sign-ins and lockouts in the audit trail (issue 13; 等保 安全审计).

The events carry the client's address from the request's audit context (access/middleware.py,
core/client.py). A failure names the username typed (not a secret; never the password)."""

from __future__ import annotations

from typing import Any

from xinqiao.audit.services import record_event


def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_event(actor=user, action="access.session.signed_in", obj=user)


def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and user.is_authenticated:
        record_event(actor=user, action="access.session.signed_out", obj=user)


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or "")[:150]
    record_event(
        actor=None,
        action="access.session.sign_in_failed",
        fields={"username": username},
        result="denied",
    )


def locked_out(sender: Any, request: Any = None, username: str = "", **kwargs: Any) -> None:
    record_event(
        actor=None,
        action="access.account.locked_out",
        fields={"username": str(username or "")[:150]},
        result="denied",
    )


def connect() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

    user_logged_in.connect(signed_in, dispatch_uid="xinqiao.audit.signed_in")
    user_logged_out.connect(signed_out, dispatch_uid="xinqiao.audit.signed_out")
    user_login_failed.connect(sign_in_failed, dispatch_uid="xinqiao.audit.sign_in_failed")
    user_locked_out.connect(locked_out, dispatch_uid="xinqiao.audit.locked_out")
