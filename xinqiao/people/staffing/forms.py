"""Forms of the staff pages; errors in the user's language."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

from xinqiao.access.roles import ROLE_UNIT_KINDS, Role
from xinqiao.orgs.forms import style_fields

from ..models import EmploymentStatus, Gender, Position, QualificationKind
from ..validators import validate_mobile

# Roles an invitation may carry (at the staff member's unit). Administrator roles and class
# roles are given on the account pages, where their own rules apply.
STAFF_ROLES = (Role.PSYCHOLOGY_TEACHER, Role.MENTOR, Role.STATION_COUNSELLOR)


class DateInput(forms.DateInput):
    input_type = "date"


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_path() if obj.depth <= 3 else obj.name


class StaffForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False
    )
    org_unit = UnitChoiceField(label=_("Unit"), queryset=None, empty_label=None)
    staff_number = forms.CharField(label=_("Staff number"), max_length=32, required=False)
    phone = forms.CharField(
        label=_("Mobile"), max_length=20, required=False, validators=[validate_mobile]
    )
    employment_status = forms.ChoiceField(
        label=_("Employment status"), choices=EmploymentStatus.choices
    )

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        style_fields(self)


class NewStaffForm(StaffForm):
    position = forms.ChoiceField(
        label=_("Position"), choices=[("", "—"), *Position.choices], required=False
    )
    start_date = forms.DateField(label=_("Since"), required=False, widget=DateInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["employment_status"].initial = EmploymentStatus.EMPLOYED
        style_fields(self)


class PositionForm(forms.Form):
    position = forms.ChoiceField(label=_("Position"), choices=Position.choices)
    org_unit = UnitChoiceField(
        label=_("Unit"),
        queryset=None,
        required=False,
        empty_label=_("The staff member's unit"),
        help_text=_("A head teacher or subject teacher names the class."),
    )
    start_date = forms.DateField(label=_("Since"), required=False, widget=DateInput)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        style_fields(self)


class EndForm(forms.Form):
    end_date = forms.DateField(label=_("Last day"), required=False, widget=DateInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)


class QualificationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=QualificationKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    number = forms.CharField(label=_("Certificate number"), max_length=64, required=False)
    issuer = forms.CharField(label=_("Issued by"), max_length=100, required=False)
    issued_on = forms.DateField(label=_("Issued on"), required=False, widget=DateInput)
    file = forms.FileField(
        label=_("Scan (PDF or image)"),
        required=False,
        validators=[FileExtensionValidator(["pdf", "jpg", "jpeg", "png"])],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload and upload.size > 10 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than %(size)d MB.") % {"size": 10})
        return upload


class InviteForm(forms.Form):
    role = forms.ChoiceField(label=_("Role of the account"), required=False)

    def __init__(self, *args: Any, unit_kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = [r for r in STAFF_ROLES if unit_kind in ROLE_UNIT_KINDS[r]]
        cast(forms.ChoiceField, self.fields["role"]).choices = [
            ("", _("No role yet")),
            *((r, Role(r).label) for r in roles),
        ]
        style_fields(self)


class CoverageForm(forms.Form):
    school = UnitChoiceField(label=_("School"), queryset=None, empty_label=None)
    supporter = UnitChoiceField(label=_("Supported by"), queryset=None, empty_label=None)
    start_date = forms.DateField(label=_("Since"), required=False, widget=DateInput)
    end_date = forms.DateField(label=_("Until"), required=False, widget=DateInput)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, schools: Any, supporters: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]
        self.fields["supporter"].queryset = supporters  # type: ignore[attr-defined]
        style_fields(self)


class CoverageEditForm(forms.Form):
    """Correcting an arrangement: the supporting unit, the dates, the note (the school stays)."""

    supporter = UnitChoiceField(label=_("Supported by"), queryset=None, empty_label=None)
    start_date = forms.DateField(label=_("Since"), widget=DateInput)
    end_date = forms.DateField(label=_("Until"), required=False, widget=DateInput)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, supporters: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supporter"].queryset = supporters  # type: ignore[attr-defined]
        style_fields(self)
