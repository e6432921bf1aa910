from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from xinqiao.core.helplines import helplines_for_principal
from xinqiao.core.navigation import Navigation

# Shown with the helplines on every page: in danger now, call these.
EMERGENCY_NUMBERS = [("110", _("Police")), ("120", _("Ambulance"))]


def shell(request: HttpRequest) -> dict[str, Any]:
    principal = getattr(request, "principal", None)
    match = getattr(request, "resolver_match", None)
    nav = Navigation(principal, match.view_name if match else "") if principal else None
    return {
        "city_name": settings.XINQIAO_CITY_NAME,
        # the city's lines and those of the user's districts (emergency.Hotline, R20)
        "helplines": SimpleLazyObject(lambda: helplines_for_principal(principal)),
        "emergency_numbers": EMERGENCY_NUMBERS,
        # computed when a template first reads it (a partial response never counts the badges)
        "nav": nav,
        "nav_items": SimpleLazyObject(lambda: nav.items) if nav is not None else [],
        "principal": principal,
    }
