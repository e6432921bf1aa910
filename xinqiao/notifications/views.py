"""Thin views: a user's own inbox."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from xinqiao.access.scope import PrincipalRequest

from . import selectors, services


@login_required
def inbox(request: PrincipalRequest) -> HttpResponse:
    items = list(selectors.inbox(user=request.user)[:100])
    unread = [m for m in items if m.read_at is None]
    response = render(
        request, "notifications/inbox.html", {"items": items, "unread": {m.pk for m in unread}}
    )
    for message in unread:  # shown once: opening the inbox marks them read
        services.mark_read(message, actor=request.user)
    return response


@require_POST
@login_required
def mark_read(request: PrincipalRequest, code: Any) -> HttpResponse:
    message = selectors.get_message(user=request.user, code=code)
    services.mark_read(message, actor=request.user)
    return redirect("notifications:inbox")
