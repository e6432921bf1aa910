"""The addresses students open, as absolute URLs built from the request (the site's own host and
scheme, as the browser reached it): the sitting's (projector screen) and a student's personal one
(the class slip). Their QR codes encode exactly these strings."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse


def enter_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("take:enter"))


def sitting_url(request: HttpRequest, sitting_code: str) -> str:
    """`<site>/take/?code=K7Q2MX`: the sign-in page with the sitting code filled in."""
    return f"{enter_url(request)}?{urlencode({'code': sitting_code})}"


def personal_url(request: HttpRequest, personal_code: str) -> str:
    """`<site>/take/#p=ABCDEFGH`: the personal code travels in the fragment, which the browser
    never sends, so no server or proxy log holds it; take.js copies it into the form."""
    return f"{enter_url(request)}#p={personal_code}"
