"""The JSON API (Django Ninja, OpenAPI at /api/v1/openapi.json).

Every endpoint reads through the same access layer as the pages: `principal_for(request.user)`,
404 for objects outside the user's scope, 403 for a role without the capability. Authentication
is the signed-in session (django_auth checks CSRF on unsafe methods). The interactive docs page
is off because Ninja serves it from a CDN; the OpenAPI document is served by the app.
"""

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.security import django_auth

from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_read
from xinqiao.core.errors import DomainError
from xinqiao.emergency.api import router as emergency_router
from xinqiao.facilities.api import router as facilities_router
from xinqiao.partners.api import router as partners_router
from xinqiao.people import selectors as people
from xinqiao.people.services import note_number_search

from .schemas import (
    EnrolmentOut,
    MeOut,
    RoleOut,
    StudentDetailOut,
    StudentPage,
    UnitOut,
)

api = NinjaAPI(
    title="Xinqiao API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    docs_url=None,
)

PAGE_SIZE = 100

# Apps' routers (each reads through the same access layer).
api.add_router("/facilities", facilities_router)
api.add_router("/emergency", emergency_router)
api.add_router("/partners", partners_router)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": "Forbidden"}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": "Not Found"}, status=404)


@api.exception_handler(DomainError)
def refused(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A business rule refused the write: 400 with the service's message, translated into the
    request's language (LocaleMiddleware), and the field it concerns when there is one."""
    assert isinstance(exc, DomainError)
    body: dict[str, Any] = {"detail": str(exc.message)}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=400)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A model's `full_clean` refused the values: 400 with the messages per field."""
    assert isinstance(exc, ValidationError)
    if hasattr(exc, "error_dict"):
        fields = {
            name: [str(m) for m in ValidationError(errors).messages]
            for name, errors in exc.error_dict.items()
        }
        detail = "; ".join(m for messages in fields.values() for m in messages)
        return api.create_response(request, {"detail": detail, "fields": fields}, status=400)
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=400)


def _reason(error: dict[str, Any]) -> str:
    """Why pydantic refused a value, in the user's language (its own messages are English)."""
    kind, ctx = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "string_too_long":
        return _("At most %(max)s characters.") % {"max": ctx.get("max_length", "?")}
    if kind in ("enum", "literal_error"):
        return _("Not one of the allowed values (%(values)s).") % {
            "values": ctx.get("expected", "")
        }
    if kind.startswith(("date", "time")):
        return _("Not a valid date or time (YYYY-MM-DD).")
    if kind.startswith("uuid"):
        return _("Not a valid code.")
    if kind.startswith(("int", "float", "decimal", "greater_than", "less_than")):
        return _("Not a valid number in the allowed range.")
    if kind.startswith("bool"):
        return _("Not true or false.")
    return _("Not a valid value.")


@api.exception_handler(RequestInvalid)
def request_invalid(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A malformed request (a missing field, a wrong type): 422 with each problem's field and
    reason in the request's language, instead of pydantic's English."""
    assert isinstance(exc, RequestInvalid)
    problems = [
        {
            # loc is ("body", "payload", "name", …): the part the client wrote is after the schema
            "field": ".".join(str(part) for part in error.get("loc", ())[2:])
            or ".".join(str(part) for part in error.get("loc", ())),
            "reason": _reason(error),
        }
        for error in exc.errors
    ]
    detail = _("The request is not valid: %(problems)s") % {
        "problems": "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
    }
    return api.create_response(request, {"detail": detail, "errors": problems}, status=422)


def _student_out(student: Any) -> dict[str, Any]:
    return {
        "code": student.code,
        "student_number": people.mask_student_number(student.student_number),
        "name": student.name,
        "gender": student.gender,
        "status": student.status,
        "school": student.school.name,
        "school_class": student.school_class.name if student.school_class else None,
    }


@api.get("/me", response=MeOut, summary="The signed-in user and their roles")
def me(request: HttpRequest) -> dict[str, Any]:
    principal = principal_for(request.user)
    roles = [
        RoleOut(
            role=grant.role,
            role_label=str(Role(grant.role).label),
            unit_code=grant.unit.code,
            unit_name=grant.unit.name,
        )
        for grant in principal.grants
    ]
    user: Any = request.user
    return {"username": user.get_username(), "name": user.get_full_name(), "roles": roles}


class UnitFilter(Schema):
    parent: UUID | None = None


@api.get("/units", response=list[UnitOut], summary="Org units in scope (children of `parent`)")
def units(request: HttpRequest, filters: Query[UnitFilter]) -> Any:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_ORG_TREE)
    visible = principal.units(Cap.VIEW_ORG_TREE)
    if filters.parent is None:
        depth = min((g.area.depth for g in principal.grants_with(Cap.VIEW_ORG_TREE)), default=0)
        return list(visible.filter(depth=depth).order_by("path")[:1000])
    parent = principal.get_unit(filters.parent)
    return list(visible.filter(parent=parent).order_by("sort_order", "path")[:1000])


class StudentFilter(Schema):
    q: str = ""
    unit: UUID | None = None
    page: int = 1


@api.get("/students", response=StudentPage, summary="Students in scope (roster data, T1)")
def students(request: HttpRequest, filters: Query[StudentFilter]) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_STUDENTS)
    unit = people.scoped_unit(principal=principal, code=filters.unit) if filters.unit else None
    if filters.unit and unit is None:
        raise Http404
    try:
        note_number_search(actor=principal.user, text=filters.q)
    except DomainError as refused:
        raise HttpError(429, str(refused)) from refused
    qs = people.list_students(principal=principal, text=filters.q, unit=unit)
    page = Paginator(qs, PAGE_SIZE).get_page(filters.page)
    return {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "results": [_student_out(s) for s in page],
    }


@api.get("/students/{code}", response=StudentDetailOut, summary="One student's roster data")
def student(request: HttpRequest, code: UUID) -> dict[str, Any]:
    principal = principal_for(request.user)
    principal.require(Cap.VIEW_STUDENTS)
    found = people.get_student(principal=principal, code=code, tier=Tier.T1)
    record_read(actor=principal.user, obj=found, fields=["roster"], action="people.student.viewed")
    enrolments = found.enrolments.select_related("term", "school", "school_class")
    return {
        **_student_out(found),
        "birth_date": found.birth_date,
        "family_flags": [name for name in people.FAMILY_FLAGS if getattr(found, name)],
        "enrolments": [
            EnrolmentOut(term=e.term.code, school=e.school.name, school_class=e.school_class.name)
            for e in enrolments
        ],
    }


from .staff import router as staff_router  # noqa: E402  (routers after the API object)

api.add_router("/staff", staff_router)
# School organisation and families (issue 14).
from .organisation import router as organisation_router  # noqa: E402

api.add_router("/", organisation_router)

from .workforce import router as workforce_router  # noqa: E402

api.add_router("/workforce/", workforce_router)
