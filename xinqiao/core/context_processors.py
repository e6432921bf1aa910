from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from xinqiao.core.navigation import navigation_for

# Shown with the helplines on every page: in danger now, call these.
EMERGENCY_NUMBERS = [("110", _("Police")), ("120", _("Ambulance"))]


def shell(request: HttpRequest) -> dict[str, Any]:
    principal = getattr(request, "principal", None)
    return {
        "city_name": settings.XINQIAO_CITY_NAME,
        "helplines": settings.HELPLINES,
        "emergency_numbers": EMERGENCY_NUMBERS,
        "nav_items": navigation_for(principal) if principal is not None else [],
        "principal": principal,
    }
