"""Views of a class's sign-in slips: each enrolled student's name, class, personal code and the
QR code of their personal link, to print on A4 and cut, and the buttons that reissue codes.

Head teachers of the class, the school's psychology teachers and school admins
(`print_sign_in_slips`); outside the user's area → 404, without the capability → 403. The slips
list named children with their secrets: showing them is an audited read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap
from xinqiao.access.scope import PrincipalRequest
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.qr import qr_svg
from xinqiao.people.models import Student
from xinqiao.people.personal_codes import format_personal_code

from . import selectors, services
from .taking.links import enter_url, personal_url


@dataclass(frozen=True)
class Slip:
    student: Student
    code: str  # as printed, "ABCD-EFGH"
    qr: SafeString


@never_cache
@requires(Cap.PRINT_SIGN_IN_SLIPS)
def class_slips(request: PrincipalRequest, class_code: Any) -> HttpResponse:
    """The slips; students without a personal code get one now (the first print issues them)."""
    principal = request.principal
    school_class = selectors.get_slip_class(principal, class_code)
    issued = services.issue_personal_codes(actor=request.user, school_class=school_class)
    students = selectors.slip_students(principal, school_class)
    record_event(
        actor=request.user,
        action="people.sign_in_slips.printed",
        obj=school_class,
        fields={"read": ["name", "personal_code"], "students": len(students), "issued": issued},
    )
    title = _("Personal sign-in QR code")
    slips = [
        Slip(
            student=s,
            code=format_personal_code(s.personal_code),
            qr=qr_svg(personal_url(request, s.personal_code), title=title, css_class="qr slip-qr"),
        )
        for s in students
    ]
    return render(
        request,
        "screening/class_slips.html",
        {
            "school_class": school_class,
            "slips": slips,
            "take_url": format_html('<span translate="no">{}</span>', enter_url(request)),
        },
    )


@requires(Cap.PRINT_SIGN_IN_SLIPS)
@require_POST
def reissue_class(request: PrincipalRequest, class_code: Any) -> HttpResponse:
    """New personal codes for the whole class: every slip printed before stops working."""
    school_class = selectors.get_slip_class(request.principal, class_code)
    try:
        n = services.reissue_personal_codes(actor=request.user, school_class=school_class)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("New personal codes for %(n)d students. Print the slips again.") % {"n": n}
        )
    return redirect("screening:class-slips", class_code=school_class.code)


@requires(Cap.PRINT_SIGN_IN_SLIPS)
@require_POST
def reissue_student(request: PrincipalRequest, class_code: Any, student: Any) -> HttpResponse:
    """A new personal code for one student (a lost or shared slip): the old one stops working."""
    principal = request.principal
    school_class = selectors.get_slip_class(principal, class_code)
    pupil = principal.get_student(student)  # 404 outside the user's scope
    try:
        services.reissue_personal_codes(
            actor=request.user, school_class=school_class, student=pupil
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s has a new personal code. Print their slip again.") % {"name": pupil.name},
        )
    return redirect("screening:class-slips", class_code=school_class.code)
