"""The student's binding to one assignment: a signed, HttpOnly cookie, and code-guessing limits.

The cookie holds the assignment's primary key and the nonce of the sign-in that made it, signed
with SECRET_KEY (salted): a forged or altered value fails the signature and is treated as "not
signed in". The nonce is also stored on the assignment (`Assignment.session_nonce`, replaced at
every sign-in), and the services compare the two on the row they read anyway: a cookie from an
older sign-in — or copied to another browser — stops working when the student signs in again.
No server-side session row is written, so autosave and submission cost no extra query.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from xinqiao.core.client import client_ip

COOKIE_NAME = "xq_take"
_SALT = "xinqiao.screening.take"
# A sitting lasts a lesson; a make-up can run late. After this the student signs in again.
MAX_AGE_SECONDS = 12 * 60 * 60

# Code guessing: at most this many unknown codes (or make-up links) per client address per window.
FAILURE_LIMIT = 20
# Mistyped student numbers for one sitting code from one address: a whole class may sit behind one
# school NAT address, so this limit is per (address, code) and higher.
NUMBER_FAILURE_LIMIT = 60
FAILURE_WINDOW_SECONDS = 10 * 60


def assignment_ref(assignment_id: int) -> str:
    """An opaque, stable handle for the browser's local storage key (no sequential ids)."""
    return salted_hmac(_SALT + ".ref", str(assignment_id)).hexdigest()[:20]


@dataclass(frozen=True)
class Binding:
    """What the cookie says: the assignment and the nonce of the sign-in that bound it."""

    assignment_id: int
    nonce: str


def new_nonce() -> str:
    return secrets.token_urlsafe(16)  # 128 bits, 22 characters


def bind(response: HttpResponse, assignment_id: int, nonce: str) -> None:
    value = signing.dumps({"a": assignment_id, "n": nonce}, salt=_SALT, compress=False)
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
        samesite="Lax",
        path="/take/",
    )


def unbind(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE_NAME, path="/take/", samesite="Lax")


def binding(request: HttpRequest) -> Binding | None:
    """The assignment this browser is bound to, with its sign-in's nonce, or None (no cookie,
    expired, forged, or a cookie from before nonces)."""
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw or len(raw) > 300:
        return None
    try:
        data = signing.loads(raw, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    value, nonce = data.get("a"), data.get("n")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    if not isinstance(nonce, str) or not 16 <= len(nonce) <= 32:
        return None
    return Binding(value, nonce)


def client_address(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"  # the real client behind the proxy, not the proxy


def _failure_key(request: HttpRequest, code: str = "") -> str:
    return "xq:take:fail:" + client_address(request) + (":" + code[:12] if code else "")


def is_rate_limited(request: HttpRequest, code: str = "") -> bool:
    address_key, code_key = _failure_key(request), _failure_key(request, code)
    counts = cache.get_many([address_key, code_key] if code else [address_key])  # one round trip
    if int(counts.get(address_key, 0)) >= FAILURE_LIMIT:
        return True
    return bool(code) and int(counts.get(code_key, 0)) >= NUMBER_FAILURE_LIMIT


def note_failure(request: HttpRequest, code: str = "") -> None:
    """Count a failed sign-in: an unknown code (no `code`), or an unknown student for `code`."""
    key = _failure_key(request, code)
    if cache.add(key, 1, FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, FAILURE_WINDOW_SECONDS)
