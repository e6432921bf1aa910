from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from xinqiao.access.scope import PrincipalRequest

from . import health
from .home import panels_for


@login_required
def home(request: PrincipalRequest) -> HttpResponse:
    """What needs the user now (each app's home panels the user's capabilities allow), then tiles
    for what this user's roles can do (the navigation, minus home itself)."""
    now = timezone.now()
    panels = panels_for(request.principal, now)
    return render(request, "core/home.html", {"panels": panels, "now": now})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For monitoring (no sign-in; figures only, nothing about any person): 200 when every check
    passes, 503 otherwise, with each check's figure (xinqiao.core.health)."""
    checks = health.report()
    ok = all(c.ok for c in checks)
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": {c.name: c.as_dict() for c in checks}},
        status=200 if ok else 503,
    )
