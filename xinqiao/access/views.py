"""Account administration for the system administrator (accounts and roles, no student data),
and the search endpoint every picker asks (access/pickers.py)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xinqiao.core.errors import DomainError
from xinqiao.core.forms import apply_service_error

from . import grants, pickers, selectors, services
from .decorators import requires
from .forms import AccountForm, PasswordResetForm, RoleAssignmentForm
from .models import RoleRequest
from .roles import Cap
from .scope import PrincipalRequest, principal_for


def _role_form(request: PrincipalRequest, data: Any = None) -> RoleAssignmentForm:
    return RoleAssignmentForm(data, principal=request.principal)


@requires(Cap.MANAGE_ACCOUNTS)
def account_list(request: PrincipalRequest) -> HttpResponse:
    search = request.GET.get("q", "")
    users = selectors.list_accounts(principal=request.principal, search=search)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    form = AccountForm()
    pending = selectors.pending_role_requests(principal=request.principal)
    return render(
        request,
        "access/account_list.html",
        {"page": page, "q": search, "form": form, "role_requests": pending},
    )


@requires(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_create(request: PrincipalRequest) -> HttpResponse:
    form = AccountForm(request.POST)
    if form.is_valid():
        try:
            user = services.create_account(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            apply_service_error(form, error)
        else:
            messages.success(request, _("Account created."))
            return redirect("access:account-detail", username=user.username)
    users = selectors.list_accounts(principal=request.principal)
    page = Paginator(users, 50).get_page(1)
    return render(
        request, "access/account_list.html", {"page": page, "q": "", "form": form}, status=400
    )


@requires(Cap.MANAGE_ACCOUNTS)
def account_detail(request: PrincipalRequest, username: str) -> HttpResponse:
    user = selectors.get_account(principal=request.principal, username=username)
    return _account_page(request, user, role_form=_role_form(request))


def _account_page(
    request: PrincipalRequest, user: Any, *, role_form: RoleAssignmentForm
) -> HttpResponse:
    pending = selectors.pending_role_requests(principal=request.principal, user=user)
    return render(
        request,
        "access/account_detail.html",
        {
            "account": user,
            "role_form": role_form,
            "password_form": PasswordResetForm(),
            "role_requests": pending,
        },
    )


@requires(Cap.MANAGE_ACCOUNTS)
@require_POST
def role_request_decide(request: PrincipalRequest, code: Any) -> HttpResponse:
    """A second system administrator approves or refuses a role request (access/grants.py)."""
    role_request = selectors.get_pending_role_request(principal=request.principal, code=code)
    approve = request.POST.get("decision") == "approve"
    try:
        grants.decide_role_request(actor=request.user, request=role_request, approve=approve)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Role given.") if approve else _("Request refused."))
    return redirect("access:account-detail", username=role_request.user.get_username())


@requires(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_assign_role(request: PrincipalRequest, username: str) -> HttpResponse:
    user = selectors.get_account(principal=request.principal, username=username)
    form = _role_form(request, request.POST)
    if form.is_valid():
        try:
            given = grants.request_role(
                actor=request.user,
                user=user,
                role=form.cleaned_data["role"],
                org_unit=form.cleaned_data["org_unit"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            if isinstance(given, RoleRequest):
                messages.success(
                    request, _("Requested: the role is given when another system admin approves.")
                )
            else:
                messages.success(request, _("Role assigned."))
    elif "org_unit__search" in request.POST:  # the unit search without JavaScript
        return _account_page(request, user, role_form=form)
    else:
        messages.error(request, _("Choose a role and a unit."))
    return redirect("access:account-detail", username=user.username)


@requires(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_revoke_role(request: PrincipalRequest, username: str) -> HttpResponse:
    user = selectors.get_account(principal=request.principal, username=username)
    assignment = get_object_or_404(
        user.role_assignments.filter(is_active=True), pk=request.POST.get("assignment") or 0
    )
    services.revoke_role(actor=request.user, assignment=assignment)
    messages.success(request, _("Role removed."))
    return redirect("access:account-detail", username=user.username)


@requires(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_set_active(request: PrincipalRequest, username: str) -> HttpResponse:
    user = selectors.get_account(principal=request.principal, username=username)
    try:
        services.set_account_active(
            actor=request.user, user=user, active=request.POST.get("active") == "1"
        )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("access:account-detail", username=user.username)


@requires(Cap.MANAGE_ACCOUNTS)
@require_POST
def account_reset_password(request: PrincipalRequest, username: str) -> HttpResponse:
    user = selectors.get_account(principal=request.principal, username=username)
    form = PasswordResetForm(request.POST)
    if form.is_valid():
        try:
            services.reset_password(actor=request.user, user=user, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Password reset and account unlocked."))
    return redirect("access:account-detail", username=user.username)


@login_required
@require_GET
def pick(request: HttpRequest, source: str) -> HttpResponse:
    """A picker's results (access/pickers.py): at most a page of the form's scope matching what
    was typed, as the radio buttons (or check boxes) the picker swaps in. 404 for an unknown
    source, 403 for a user without the form's capability."""
    src = pickers.SOURCES.get(source)
    if src is None:
        raise Http404
    principal = principal_for(request.user)
    principal.require(src.cap)
    name = request.GET.get("field", "choice")
    if not pickers.FIELD_NAME.match(name):
        raise Http404
    rows = src.rows(principal)
    query = request.GET.get(f"{name}__q", "")[:100].strip()
    results, more = src.search(rows, query)
    selected = src.selected(rows, request.GET.getlist(name))
    context = pickers.results_context(
        src,
        name,
        request.GET.get("input_id", f"id_{name}")[:100],
        selected,
        results,
        more,
        query,
        multiple=request.GET.get("multiple") == "1",
    )
    return render(request, "includes/picker_results.html", context)
