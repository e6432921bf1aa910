"""A signed-in user's own account: change one's password, see and end one's sessions (issue 13).
Every signed-in user may use these pages, for their own account only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from xinqiao.core.client import client_ip
from xinqiao.core.errors import DomainError

from . import passwords, sessions
from .models import UserSession


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "access/password_change.html"
    success_url = reverse_lazy("account:sessions")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["must_change"] = bool(self.request.session.get(passwords.MUST_CHANGE_KEY))
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        user: Any = self.request.user
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # saves, keeps this session (under a new key)
        key = self.request.session.session_key
        sessions.rekey(old_key=old_key, new_key=key)
        passwords.password_changed(user=user)
        self.request.session.pop(passwords.MUST_CHANGE_KEY, None)
        message = _("Your password was changed.")
        if sessions.has_other_sessions(user=user, current_key=key):
            sessions.revoke_other_sessions(actor=user, user=user, current_key=key)
            message += " " + _("Your other sessions were signed out.")
        messages.success(self.request, message)
        return response


password_change = login_required(PasswordChangeView.as_view())


@login_required
def session_list(request: Any) -> HttpResponse:
    rows = sessions.list_own_sessions(user=request.user, current_key=request.session.session_key)
    return render(
        request,
        "access/sessions.html",
        {
            "sessions": rows,
            "others": sum(1 for r in rows if not r["current"]),
            "idle_minutes": sessions.idle_timeout() // 60,
            "absolute_hours": sessions.absolute_age() // 3600,
        },
    )


@login_required
@require_POST
def session_revoke(request: Any, public_id: str) -> HttpResponse:
    try:
        sessions.revoke_session(
            actor=request.user,
            user=request.user,
            public_id=public_id,
            current_key=request.session.session_key,
        )
    except UserSession.DoesNotExist:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The session was signed out."))
    return redirect("account:sessions")


@login_required
@require_POST
def session_revoke_others(request: Any) -> HttpResponse:
    count = sessions.revoke_other_sessions(
        actor=request.user, user=request.user, current_key=request.session.session_key
    )
    messages.success(
        request,
        ngettext(
            "Signed out of %(count)d other session.",
            "Signed out of %(count)d other sessions.",
            count,
        )
        % {"count": count},
    )
    return redirect("account:sessions")


def invitation(request: Any, token: str) -> HttpResponse:
    """A staff member's invitation (access/staffing.py), or another registered kind (a pool
    expert's): choose a username and one's own password. Open to visitors who are not signed
    in; an unknown, used, revoked or expired code is a 404 (no hint which). Attempts are
    rate-limited per client address."""
    from xinqiao.core.ratelimit import allow

    from .forms_invitation import AcceptInvitationForm
    from .staffing import find_invitation

    if not allow(f"xq:staff-invitation:{client_ip(request)}", limit=30, window=600):
        return HttpResponse(_("Too many attempts. Try again later."), status=429)
    pending = find_invitation(token)
    if pending is None or request.user.is_authenticated:
        raise Http404
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pending.accept(
                token=token,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except DomainError as exc:
            from xinqiao.core.forms import apply_service_error

            apply_service_error(form, exc, default_field="password")
        except Exception as exc:  # the password validators' ValidationError
            from django.core.exceptions import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            form.add_error("password", exc)
        else:
            messages.success(request, _("Your account is ready. Sign in with it."))
            return redirect("login")
    context = {"form": form, "pending": pending, "staff": pending.staff}
    response = render(request, "access/invitation.html", context)
    response["Cache-Control"] = "no-store"
    # The code is in the URL: no request from this page may carry the path as Referer. Not
    # "no-referrer": with it a browser sends `Origin: null` with the form's POST and Django's
    # CSRF check refuses it (403) — nobody could accept an invitation. "strict-origin" sends the
    # origin only (the CSRF check passes), never the path.
    response["Referrer-Policy"] = "strict-origin"
    return response


def invitation_redeem(request: Any) -> HttpResponse:
    """A one-time code from a printed slip (access/invitations.py): a committee member chooses
    their password; a parent creates their account, or, signed in, links the child to theirs.
    Open to anyone (the code is the credential); attempts are limited per address."""
    from django.core.exceptions import ValidationError

    from xinqiao.core.forms import apply_service_error

    from . import invitations
    from .forms import InvitationRedeemForm

    signed_in = request.user if request.user.is_authenticated else None
    form = InvitationRedeemForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = invitations.redeem_invitation(
                raw_code=data["code"],
                password=data["password1"],
                username=data["username"],
                signed_in=signed_in,
                throttle_key=client_ip(request),
            )
        except (DomainError, ValidationError) as exc:
            apply_service_error(form, exc, aliases={"password": "password1"}, default_field="code")
        else:
            if signed_in is not None and user.pk == signed_in.pk:
                messages.success(request, _("The child was added to your account."))
                return redirect("home")
            messages.success(request, _("Your account is ready: sign in with your new password."))
            return redirect("login")
    return render(request, "access/invitation_redeem.html", {"form": form, "signed_in": signed_in})
