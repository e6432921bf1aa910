"""Counselling rooms: a unit's room page, its edit form, its checklist, an evaluation's status,
the evidence photos, and the list of rooms in the user's area with status counts. Thin: selectors
read through the access layer, services write and audit."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error

from . import photos, selectors, services
from .checklist import current_items
from .forms import ChecklistForm, RoomForm, StatusForm
from .models import RoomStatus

PAGE_SIZE = 50


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


@requires(Cap.VIEW_FACILITIES)
def room_list(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    units = selectors.units_in_scope(principal)
    districts = selectors.district_choices(principal)
    wanted = _uuid(request.GET.get("district"))
    district = districts.filter(code=wanted).first() if wanted is not None else None
    status = request.GET.get("status", "")
    in_district = selectors.filter_units(units, district=district)
    shown = selectors.filter_units(in_district, status=status)
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "counts": selectors.status_counts(in_district),
        "districts": districts,
        "district": district,
        "status": status,
        "statuses": [*RoomStatus.choices, (selectors.NO_RECORD, _("No room recorded"))],
        "can_import": principal.can(Cap.EDIT_FACILITIES),
    }
    return render(request, "facilities/room_list.html", context)


@requires(Cap.VIEW_FACILITIES)
def room_detail(request: PrincipalRequest, code: Any) -> HttpResponse:
    principal = request.principal
    unit = selectors.get_room_unit(principal=principal, code=code)
    room = selectors.room_of(unit=unit)
    rows = selectors.checklist(room=room)
    context = {
        "unit": unit,
        "room": room,
        "rows": rows,
        "summary": selectors.checklist_summary(rows),
        "evaluations": selectors.evaluations(room=room),
        "can_edit": principal.sees_unit(unit, Cap.EDIT_FACILITIES),
        "can_evaluate": principal.sees_unit(unit, Cap.EVALUATE_FACILITIES),
    }
    return render(request, "facilities/room_detail.html", context)


@requires(Cap.EDIT_FACILITIES)
@require_http_methods(["GET", "POST"])
def room_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = selectors.get_room_unit(principal=request.principal, code=code, cap=Cap.EDIT_FACILITIES)
    room = selectors.room_of(unit=unit)
    form = RoomForm(request.POST or None, instance=room)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_room(actor=request.user, unit=unit, **form.room_data())
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The counselling room was saved."))
            return redirect("facilities:room-detail", code=unit.code)
    status = 400 if request.method == "POST" else 200
    return render(request, "facilities/room_form.html", {"unit": unit, "form": form}, status=status)


@requires(Cap.EDIT_FACILITIES)
@require_http_methods(["GET", "POST"])
def checklist_edit(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = selectors.get_room_unit(principal=request.principal, code=code, cap=Cap.EDIT_FACILITIES)
    room = selectors.room_of(unit=unit)
    if room is None:
        messages.info(request, _("Record the room first, then its checklist."))
        return redirect("facilities:room-edit", code=unit.code)
    answers = {row.item.key: row.answer for row in selectors.checklist(room=room) if row.answer}
    form = ChecklistForm(
        request.POST or None,
        request.FILES or None,
        items=current_items(),
        initial_answers=answers,
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                for answer in form.answers():
                    services.answer_item(actor=request.user, room=room, **answer)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The checklist was saved."))
            return redirect("facilities:room-detail", code=unit.code)
    status = 400 if request.method == "POST" else 200
    context = {"unit": unit, "form": form, "answers": answers}
    return render(request, "facilities/checklist_form.html", context, status=status)


@requires(Cap.EVALUATE_FACILITIES)
@require_http_methods(["GET", "POST"])
def room_evaluate(request: PrincipalRequest, code: Any) -> HttpResponse:
    unit = selectors.get_room_unit(
        principal=request.principal, code=code, cap=Cap.EVALUATE_FACILITIES
    )
    room = selectors.room_of(unit=unit)
    if room is None:
        messages.info(request, _("Record the room first, then its evaluation."))
        return redirect("facilities:room-detail", code=unit.code)
    form = StatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_status(actor=request.user, room=room, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The evaluation was recorded."))
            return redirect("facilities:room-detail", code=unit.code)
    status = 400 if request.method == "POST" else 200
    context = {"unit": unit, "form": form, "room": room}
    return render(request, "facilities/evaluate_form.html", context, status=status)


@requires(Cap.VIEW_FACILITIES)
def photo(request: PrincipalRequest, code: Any) -> HttpResponse:
    answer = selectors.get_answer(principal=request.principal, code=code)
    if not answer.photo_storage:
        raise Http404
    response = HttpResponse(photos.read(answer.photo_storage), content_type=answer.photo_type)
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(answer.photo_name)}"
    return response
