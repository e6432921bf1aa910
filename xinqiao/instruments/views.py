"""Instrument catalogue pages: list with licence notices, detail, upload, approval (thin views)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error

from .forms import UploadInstrumentForm
from .schema import DefinitionError
from .selectors import get_instrument, list_instruments
from .services import approve_instrument, import_instrument


@login_required
def instrument_list(request: PrincipalRequest) -> HttpResponse:
    entries = list_instruments(actor=request.user)
    principal = request.principal
    return render(
        request,
        "instruments/instrument_list.html",
        {"entries": entries, "can_upload": principal.can(Cap.UPLOAD_INSTRUMENT)},
    )


@login_required
def instrument_detail(request: PrincipalRequest, code: str, version: str) -> HttpResponse:
    entry = get_instrument(actor=request.user, code=code, version=version)
    principal = request.principal
    return render(
        request,
        "instruments/instrument_detail.html",
        {
            "entry": entry,
            "defn": entry.definition,
            "can_approve": principal.can(Cap.APPROVE_INSTRUMENT) and entry.status == "pending",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def instrument_upload(request: PrincipalRequest) -> HttpResponse:
    request.principal.require(Cap.UPLOAD_INSTRUMENT)
    form = UploadInstrumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = import_instrument(actor=request.user, file=form.cleaned_data["file"])
        except DefinitionError as exc:
            form.add_error("file", str(exc))
        except DomainError as exc:
            apply_service_error(form, exc, default_field="file")
        else:
            messages.success(
                request, _("Uploaded; a city administrator must approve it before use.")
            )
            return redirect("instruments:instrument-detail", code=row.code, version=row.version)
    return render(request, "instruments/instrument_upload.html", {"form": form})


@login_required
@require_POST
def instrument_approve(request: PrincipalRequest, code: str, version: str) -> HttpResponse:
    get_instrument(actor=request.user, code=code, version=version)  # 404 before 403
    request.principal.require(Cap.APPROVE_INSTRUMENT)
    try:
        approve_instrument(actor=request.user, code=code, version=version)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Approved: the instrument can now be used in campaigns."))
    return redirect("instruments:instrument-detail", code=code, version=version)
