"""Password rules at ASVS L2 (issue 13): refuse passwords made of predictable parts.

A password is cut into what a guesser tries first — words of the common-password lists (Django's
20,000 and the Chinese list in data/common-passwords-zh.txt: leaked top passwords, pinyin words and
names), found anywhere inside it after undoing leet substitutions (P@ssw0rd → password); keyboard
walks (1qaz@WSX, qwertyuiop, asdfghjkl); dates (19900101, 2008-08-08, 900101) and years;
repeated characters or chunks (aaaa, 520520); ascending or descending runs (1234, abcd, 9876). What
is left over must hold at least MIN_FREE letters or digits, or the password is refused. So
`P@ssw0rd2024!`, `Zhangwei19900101`, `1qaz@WSX3edc` and `Woaini1314520!` are refused while a
passphrase or a password with a few unpredictable characters passes.

The length rule is Django's MinimumLengthValidator (12, settings.AUTH_PASSWORD_VALIDATORS).
"""

from __future__ import annotations

import datetime
import functools
import gzip
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event

DATA = Path(__file__).resolve().parent / "data" / "common-passwords-zh.txt"
DJANGO_LIST = (
    Path(django.__file__).resolve().parent / "contrib" / "auth" / "common-passwords.txt.gz"
)

MIN_FREE = 3  # letters or digits outside every predictable part
MIN_WORD = 5  # shorter list entries (love, test, demo) are too common inside good passwords
MIN_WALK = 4  # keyboard walks and ascending runs this long or longer

# Leet substitutions undone before the list is searched; "1" and "!" stand for i or l.
_LEET_I = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "0": "o",
        "1": "i",
        "!": "i",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
        "|": "l",
    }
)
_LEET_L = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "0": "o",
        "1": "l",
        "!": "l",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
        "|": "l",
    }
)
# Shifted keys read as their unshifted key (1qaz@WSX is the walk 1qaz2wsx).
_UNSHIFT = str.maketrans(
    {
        "!": "1",
        "@": "2",
        "#": "3",
        "$": "4",
        "%": "5",
        "^": "6",
        "&": "7",
        "*": "8",
        "(": "9",
        ")": "0",
        "_": "-",
        "+": "=",
        "{": "[",
        "}": "]",
        ":": ";",
        '"': "'",
        "<": ",",
        ">": ".",
        "?": "/",
        "|": "\\",
        "~": "`",
    }
)
_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./")
_DATE = re.compile(
    r"(?<!\d)(\d{4}[-./]?\d{1,2}[-./]?\d{1,2}|\d{1,2}[-./]?\d{1,2}[-./]?\d{2,4})(?!\d)"
)
_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")


@functools.cache
def _keyboard() -> dict[str, set[str]]:
    """Each key's neighbours on a QWERTY keyboard (same row, and the rows above and below, whose
    keys sit half a key to the right)."""
    where = {ch: (r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    near: dict[str, set[str]] = {ch: set() for ch in where}
    for ch, (r, c) in where.items():
        for other, (r2, c2) in where.items():
            if (
                (r2 == r and abs(c2 - c) == 1)
                or (r2 == r + 1 and c2 in (c - 1, c))
                or (r2 == r - 1 and c2 in (c, c + 1))
            ):
                near[ch].add(other)
    return near


@functools.cache
def common_words() -> frozenset[str]:
    words: set[str] = set()
    with gzip.open(DJANGO_LIST, "rt", encoding="utf-8") as django_list:
        words.update(line.strip().lower() for line in django_list)
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.add(line.strip().lower())
    return frozenset(w for w in words if len(w) >= MIN_WORD)


def _mark_words(text: str, covered: list[bool], words: frozenset[str], longest: int) -> None:
    for start in range(len(text)):
        for end in range(min(len(text), start + longest), start + MIN_WORD - 1, -1):
            if text[start:end] in words:
                covered[start:end] = [True] * (end - start)
                break


def _mark_walks(text: str, covered: list[bool]) -> None:
    near = _keyboard()
    start = 0
    for i in range(1, len(text) + 1):
        if i < len(text) and text[i] in near.get(text[i - 1], ()):
            continue
        if i - start >= MIN_WALK:
            covered[start:i] = [True] * (i - start)
        start = i


def _mark_runs(text: str, covered: list[bool]) -> None:
    """Repeated characters (aaa), repeated chunks (520520, abcabc) and ascending or descending
    runs of letters or digits (1234, dcba)."""
    n = len(text)
    for i in range(n):
        j = i
        while j + 1 < n and text[j + 1] == text[i]:
            j += 1
        if j - i >= 2:
            covered[i : j + 1] = [True] * (j - i + 1)
        for size in (2, 3, 4):
            chunk = text[i : i + size]
            if len(chunk) == size and text[i + size : i + 2 * size] == chunk:
                covered[i : i + 2 * size] = [True] * (2 * size)
        for step in (1, -1):
            j = i
            while (
                j + 1 < n
                and text[j].isalnum()
                and text[j + 1].isalnum()
                and text[j].isdigit() == text[j + 1].isdigit()
                and ord(text[j + 1]) - ord(text[j]) == step
            ):
                j += 1
            if j - i + 1 >= MIN_WALK:
                covered[i : j + 1] = [True] * (j - i + 1)


def _is_date(digits: str) -> bool:
    for fmt in ("%Y%m%d", "%y%m%d", "%d%m%Y", "%m%d%Y", "%Y%m", "%d%m%y"):
        try:
            day = datetime.datetime.strptime(digits, fmt)  # noqa: DTZ007 - a calendar date only
        except ValueError:
            continue
        if 1900 <= day.year <= 2099:
            return True
    return False


def _mark_dates(text: str, covered: list[bool]) -> None:
    for match in _DATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        parts = re.split(r"[-./]", match.group())
        padded = "".join(p.zfill(2) if len(p) < 2 else p for p in parts) if len(parts) == 3 else ""
        if 6 <= len(digits) <= 8 and (_is_date(digits) or (padded and _is_date(padded))):
            covered[match.start() : match.end()] = [True] * (match.end() - match.start())
    for match in _YEAR.finditer(text):
        covered[match.start() : match.end()] = [True] * 4


def predictable_parts(password: str) -> list[bool]:
    """For each character of the password, whether it belongs to a predictable part."""
    lowered = password.lower()
    covered = [False] * len(password)
    words = common_words()
    longest = max(len(w) for w in words)
    for text in (lowered, lowered.translate(_LEET_I), lowered.translate(_LEET_L)):
        _mark_words(text, covered, words, longest)
    unshifted = lowered.translate(_UNSHIFT)
    _mark_walks(unshifted, covered)
    _mark_runs(unshifted, covered)
    _mark_dates(lowered, covered)
    return covered


def free_characters(password: str) -> int:
    """How many letters or digits of the password are outside every predictable part."""
    covered = predictable_parts(password)
    return sum(1 for ch, hit in zip(password, covered, strict=True) if ch.isalnum() and not hit)


class PatternPasswordValidator:
    """Refuse passwords made only of common words, pinyin names, keyboard walks, dates, repeats
    and sequences (see the module's docstring)."""

    def __init__(self, min_free: int = MIN_FREE) -> None:
        self.min_free = min_free

    def validate(self, password: str, user: object = None) -> None:
        if free_characters(password) < self.min_free:
            raise ValidationError(
                _(
                    "This password is too easy to guess: it is made of common words, names, "
                    "keyboard patterns, dates or repeated characters. Add a few characters "
                    "nobody would guess."
                ),
                code="password_predictable",
            )

    def get_help_text(self) -> str:
        return _(
            "Your password cannot be made only of common words, pinyin names, keyboard "
            "patterns, dates or repeated characters."
        )


# --- first sign-in: a password someone else set must be changed ---------------------------------

MUST_CHANGE_KEY = "_xq_password_change"


def require_password_change(*, user: Any) -> None:
    """The user must choose a new password at the next sign-in (an administrator or an import
    set this one). Call inside the service that set it, in its transaction."""
    from .models import PasswordState

    PasswordState.objects.update_or_create(
        user=user, defaults={"must_change": True, "set_by_other_at": timezone.now()}
    )


def must_change_password(user: Any) -> bool:
    from .models import PasswordState

    return PasswordState.objects.filter(user=user, must_change=True).exists()


@transaction.atomic
def password_changed(*, user: Any) -> None:
    """The user chose a new password themselves: clear the flag, audit."""
    from .models import PasswordState

    PasswordState.objects.update_or_create(
        user=user, defaults={"must_change": False, "changed_at": timezone.now()}
    )
    record_event(actor=user, action="access.password.changed", obj=user, fields={})


def on_signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        if must_change_password(user):
            request.session[MUST_CHANGE_KEY] = True
        else:
            request.session.pop(MUST_CHANGE_KEY, None)


def connect() -> None:
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(on_signed_in, dispatch_uid="xinqiao.access.passwords.signed_in")


class PasswordChangeRequiredMiddleware:
    """A user whose password someone else set goes to the change page from any page, until they
    change it. The sign-in flag is read once, at sign-in, into the session (no query a request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.session.get(MUST_CHANGE_KEY)
            and not self._allowed(request.path_info)
        ):
            target = reverse("account:password-change")
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        # The second step (or the enrolment) comes first: SecondFactorMiddleware sends a session
        # that has not passed it there and back from every other page, the change page included —
        # sending it on to the change page from there looped until the browser gave up.
        if path in (reverse("two_factor:verify"), reverse("two_factor:enrol")):
            return True
        allowed = (
            reverse("account:password-change"),
            reverse("logout"),
            reverse("healthz"),
            reverse("javascript-catalog"),
            "/i18n/",
            settings.STATIC_URL,
        )
        return any(path.startswith(prefix) for prefix in allowed)
