"""JSON endpoints used by take.js: autosave batches, hand-in, and the state for resuming.

Same-origin only, protected by Django's CSRF check: fetch() sends the token in X-CSRFToken; a
navigator.sendBeacon() on page hide sends a form body with `csrfmiddlewaretoken` and `payload`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import services
from .services import TakingError
from .session import binding

MAX_BODY_BYTES = 64 * 1024


def _error(exc: TakingError) -> JsonResponse:
    body: dict[str, Any] = {"ok": False, "error": exc.message, "code": exc.code}
    if exc.code == "submitted":
        body["redirect"] = reverse("take:done")
    return JsonResponse(body, status=exc.status)


def _payload(request: HttpRequest) -> dict[str, Any]:
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        raise TakingError(_("The request is too large."), code="invalid", status=413)
    if request.content_type == "application/json":
        raw: Any = request.body
    else:  # a beacon: form-encoded, the JSON in one field
        raw = request.POST.get("payload", "")
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise TakingError(_("The answers could not be read."), code="invalid") from exc
    if not isinstance(data, dict):
        raise TakingError(_("The answers could not be read."), code="invalid")
    return data


@require_POST
def save_answers(request: HttpRequest) -> JsonResponse:
    try:
        data = _payload(request)
        result = services.save_answers(binding=binding(request), raw_answers=data.get("answers"))
    except TakingError as exc:
        return _error(exc)
    return JsonResponse({"ok": True, **result})


@require_POST
def submit(request: HttpRequest) -> JsonResponse:
    try:
        data = _payload(request)
        seq = data.get("seq", 0)
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise TakingError(_("The submission could not be read."), code="invalid")
        services.submit_answers(
            binding=binding(request),
            client_key=data.get("client_key", ""),
            client_seq=seq,
        )
    except TakingError as exc:
        return _error(exc)
    return JsonResponse({"ok": True, "redirect": reverse("take:done")})


@never_cache
@require_GET
def state(request: HttpRequest) -> JsonResponse:
    """Server drafts (to merge with the browser's copy) and a fresh CSRF token."""
    try:
        bound = services.load_bound(binding(request))
    except TakingError as exc:
        return _error(exc)
    return JsonResponse(
        {
            "ok": True,
            "done": bound.is_done,
            "drafts": [] if bound.is_done else services.drafts_of(bound.id),
            "csrf": get_token(request),
        }
    )
