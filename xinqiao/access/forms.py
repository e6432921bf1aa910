from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from xinqiao.orgs.models import OrgUnit

from .roles import Role


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


if TYPE_CHECKING:  # the stubs make form fields generic; Django's classes are not at run time
    _UnitField = forms.ModelChoiceField[OrgUnit]
else:
    _UnitField = forms.ModelChoiceField


class UnitChoiceField(_UnitField):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


class RoleAssignmentForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"), choices=Role.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    org_unit = UnitChoiceField(
        label=_("Unit"),
        queryset=OrgUnit.objects.none(),
        to_field_name="code",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args: Any, units: QuerySet[OrgUnit] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["org_unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = units if units is not None else OrgUnit.objects.none()
