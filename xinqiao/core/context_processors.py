from typing import Any

from django.conf import settings
from django.http import HttpRequest

from xinqiao.core.navigation import navigation_for


def shell(request: HttpRequest) -> dict[str, Any]:
    principal = getattr(request, "principal", None)
    return {
        "city_name": settings.XINQIAO_CITY_NAME,
        "helplines": settings.HELPLINES,
        "nav_items": navigation_for(principal) if principal is not None else [],
        "principal": principal,
    }
