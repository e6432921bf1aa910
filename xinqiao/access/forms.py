from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinqiao.orgs.forms import style_fields
from xinqiao.orgs.models import Kind

from .pickers import PickerField, bind_pickers, unit_source
from .roles import Cap, Role

if TYPE_CHECKING:
    from .scope import Principal


class AccountForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        regex=r"^[A-Za-z0-9_.-]{3,40}$",
        error_messages={"invalid": _("3–40 letters, digits, dots, dashes or underscores.")},
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    name = forms.CharField(
        label=_("Name"), max_length=60, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
    )


class PasswordResetForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
    )


# Units a role may be assigned at (classes: from the staff and class pages).
ASSIGNABLE_KINDS = (Kind.CITY, Kind.DISTRICT, Kind.CENTRE, Kind.STATION, Kind.HOSPITAL, Kind.SCHOOL)
ROLE_UNITS = unit_source("role-unit", cap=Cap.MANAGE_ACCOUNTS, kinds=ASSIGNABLE_KINDS)


class RoleAssignmentForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"), choices=Role.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    org_unit = PickerField(ROLE_UNITS, label=_("Unit"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        required=False,
        help_text=_(
            "Needed for a role that reads children's data, for the auditor and for the system "
            "administrator: a second system administrator approves it."
        ),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args: Any, principal: "Principal", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)


class InvitationRedeemForm(forms.Form):
    code = forms.CharField(label=_("One-time code"), max_length=20)
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        required=False,
        help_text=_("Parents choose one; a committee member's is printed on the slip."),
    )
    password1 = forms.CharField(
        label=_("New password"), required=False, widget=forms.PasswordInput, strip=False
    )
    password2 = forms.CharField(
        label=_("New password again"), required=False, widget=forms.PasswordInput, strip=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data
