from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from xinqiao.access.scope import PrincipalRequest


@login_required
def home(request: PrincipalRequest) -> HttpResponse:
    """Tiles for what this user's roles can do (the navigation, minus home itself)."""
    return render(request, "core/home.html")
