from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Tiles for what this user's roles can do (the navigation, minus home itself)."""
    return render(request, "core/home.html")
