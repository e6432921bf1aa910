"""The student's signed-in session on their counselling page (students have no account).

A student signs in with their personal code (people/personal_codes.py) — at their school's
counselling entry or the general one — or comes from the end of a questionnaire, where the
screening sign-in already proved who they are (screening.selectors.student_of_take_session).
Either way the browser gets a signed, HttpOnly cookie for /counselling/student/ naming the
student and a fingerprint of their current personal code: reissuing the code ends every such
session. Every student page reads the student from this cookie only — never from a form field
or the URL — so a classmate cannot ask for help or book in another student's name.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from xinqiao.core.client import client_ip
from xinqiao.people.models import Student, StudentStatus
from xinqiao.people.personal_codes import (
    is_personal_code,
    normalise_personal_code,
    personal_code_hash,
)

COOKIE_NAME = "xq_counsel"
COOKIE_PATH = "/counselling/student/"
_SALT = "xinqiao.counselling.student"
MAX_AGE_SECONDS = 2 * 60 * 60
FAILURE_LIMIT = 20
FAILURE_WINDOW_SECONDS = 10 * 60


def _fingerprint(student: Student) -> str:
    return (student.personal_code_hash or "none")[:16]


def sign_in(response: HttpResponse, student: Student) -> None:
    value = signing.dumps({"s": student.pk, "f": _fingerprint(student)}, salt=_SALT)
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
        samesite="Lax",
        path=COOKIE_PATH,
    )


def sign_out(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Lax")


def signed_in_student(request: HttpRequest) -> Student | None:
    """The student of this browser's session, or None (no cookie, expired, forged, a code
    reissued since, or a student no longer enrolled)."""
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw or len(raw) > 300:
        return None
    try:
        data = signing.loads(raw, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    pk, fingerprint = data.get("s"), data.get("f")
    if not isinstance(pk, int) or isinstance(pk, bool) or not isinstance(fingerprint, str):
        return None
    student = (
        Student.objects.filter(pk=pk, status=StudentStatus.ENROLLED)
        .select_related("school", "school_class")
        .first()
    )
    if student is None or _fingerprint(student) != fingerprint:
        return None
    return student


def student_by_code(raw: str) -> Student | None:
    """The enrolled student whose personal code this is (typed in any case, with or without the
    dash), or None."""
    code = normalise_personal_code(raw)
    if not is_personal_code(code):
        return None
    return (
        Student.objects.filter(
            personal_code_hash=personal_code_hash(code), status=StudentStatus.ENROLLED
        )
        .select_related("school")
        .first()
    )


def _failure_key(request: HttpRequest) -> str:
    return "xq:counsel:fail:" + (client_ip(request) or "unknown")


def is_rate_limited(request: HttpRequest) -> bool:
    return int(cache.get(_failure_key(request), 0)) >= FAILURE_LIMIT


def note_failure(request: HttpRequest) -> None:
    key = _failure_key(request)
    if cache.add(key, 1, FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:
        cache.add(key, 1, FAILURE_WINDOW_SECONDS)
