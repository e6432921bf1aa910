"""Forms for the people pages. They validate input; selectors read and services write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xinqiao.access.pickers import PickerField, unit_source
from xinqiao.access.roles import Cap
from xinqiao.orgs.forms import style_fields
from xinqiao.orgs.models import Kind

from .models import (
    FAMILY_FLAGS,
    CircumstanceSource,
    Gender,
    GuardianRelation,
    Position,
    Staff,
    Student,
    StudentStatus,
)

if TYPE_CHECKING:
    from xinqiao.access.scope import Principal

# Past this many units a filter's drop-down becomes a picker (a city has thousands of schools).
SELECT_LIMIT = 100
STAFF_UNIT_KINDS = (Kind.DISTRICT, Kind.SCHOOL, Kind.STATION, Kind.CENTRE)
FILTER_SCHOOLS = unit_source(
    "filter-school",
    cap=Cap.VIEW_STUDENTS,
    scope=lambda principal: principal.units(Cap.VIEW_STUDENTS).filter(
        kind=Kind.SCHOOL, is_active=True
    ),
)
FILTER_STAFF_UNITS = unit_source(
    "filter-staff-unit",
    cap=Cap.VIEW_STAFF,
    scope=lambda principal: principal.units(Cap.VIEW_STAFF).filter(
        kind__in=STAFF_UNIT_KINDS, is_active=True
    ),
)


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


def _unit_filter(
    form: forms.Form, name: str, units: list[Any] | None, blank: Any, principal: Principal | None
) -> None:
    """A drop-down of `units`, or — when there were too many for one (None) — a picker."""
    field = cast(forms.ChoiceField, form.fields[name])
    if units is not None:
        field.choices = _blank(blank) + [(str(u.code), u.name) for u in units]
        return
    source = FILTER_SCHOOLS if name == "school" else FILTER_STAFF_UNITS
    picker = PickerField(source, label=field.label, required=False)
    if principal is not None:
        picker.bind(principal)
    form.fields[name] = picker
    form.pickers.append(name)  # type: ignore[attr-defined]


class StudentFilterForm(forms.Form):
    """GET filters of the student list. Unit choices come from the user's scope (codes)."""

    q = forms.CharField(
        label=_("Name, national student number or ID number"), required=False, max_length=60
    )
    district = forms.ChoiceField(label=_("District"), required=False)
    school = forms.ChoiceField(label=_("School"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False)
    school_class = forms.ChoiceField(label=_("Class"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_blank(_("Any status")) + StudentStatus.choices
    )
    gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=_blank(_("Any gender")) + Gender.choices
    )
    flags = forms.MultipleChoiceField(
        label=_("Family circumstances"),
        required=False,
        choices=list(FAMILY_FLAGS.items()),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        unit_choices: dict[str, list[Any] | None],
        principal: Principal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pickers: list[str] = []
        labels = {
            "district": _("All districts"),
            "school": _("All schools"),
            "grade": _("All grades"),
            "school_class": _("All classes"),
        }
        for name, label in labels.items():
            if name not in unit_choices:
                del self.fields[name]
                continue
            _unit_filter(self, name, unit_choices[name], label, principal)
        style_fields(self)
        self.fields["flags"].widget.attrs = {"class": "form-check-input"}
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})

    def value(self, name: str) -> Any:
        if not self.is_bound:
            return "" if name != "flags" else []
        if name in self.fields and not self.is_valid() and name in self.errors:
            return "" if name != "flags" else []
        return self.cleaned_data.get(name) or ("" if name != "flags" else [])


class StudentForm(forms.ModelForm):
    """Edit a student's roster data; the service validates and audits the change."""

    new_id_number = forms.CharField(
        label=_("New resident ID number"),
        required=False,
        max_length=18,
        help_text=_("Leave empty to keep the number on record."),
    )

    class Meta:
        model = Student
        fields = ["name", "gender", "birth_date", "status", *FAMILY_FLAGS]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)

    def _post_clean(self) -> None:
        # The service runs the model validation (and reports it); the form only parses input.
        pass

    def changes(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "new_id_number"}
        if self.cleaned_data.get("new_id_number"):
            data["id_number"] = self.cleaned_data["new_id_number"]
        return data


class StaffFilterForm(forms.Form):
    q = forms.CharField(label=_("Name"), required=False, max_length=60)
    position = forms.ChoiceField(
        label=_("Position"), required=False, choices=_blank(_("Any position")) + Position.choices
    )
    unit = forms.ChoiceField(label=_("Unit"), required=False)

    def __init__(
        self, *args: Any, units: list[Any] | None, principal: Principal | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pickers: list[str] = []
        _unit_filter(self, "unit", units, _("All units"), principal)
        style_fields(self)
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})


# --- committee, groups, guardians, circumstances (issue 14) ------------------------------------
class _Styled(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)


class CommitteeAppointForm(_Styled):
    student = forms.TypedChoiceField(label=_("Student"), coerce=int)

    def __init__(self, *args: Any, candidates: list[Student], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {s.pk: s for s in candidates}
        cast(forms.ChoiceField, self.fields["student"]).choices = _blank("—") + [
            (s.pk, f"{s.name} ({s.get_gender_display()})") for s in candidates
        ]

    def clean_student(self) -> Student:
        return self.candidates[self.cleaned_data["student"]]


class EndForm(_Styled):
    end_date = forms.DateField(
        label=_("End date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class GroupMemberForm(_Styled):
    kind = forms.ChoiceField(label=_("Group"))
    staff = forms.TypedChoiceField(label=_("Staff member"), coerce=int)
    role = forms.ChoiceField(label=_("Role in the group"))
    duty = forms.CharField(label=_("Duty"), max_length=100, required=False)
    start_date = forms.DateField(
        label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, staff: list[Staff], **kwargs: Any) -> None:
        from .models import GroupKind, GroupRole

        super().__init__(*args, **kwargs)
        self.staff_by_pk = {s.pk: s for s in staff}
        cast(forms.ChoiceField, self.fields["kind"]).choices = GroupKind.choices
        cast(forms.ChoiceField, self.fields["role"]).choices = GroupRole.choices
        self.initial.setdefault("role", GroupRole.MEMBER)
        cast(forms.ChoiceField, self.fields["staff"]).choices = _blank("—") + [
            (s.pk, s.name) for s in staff
        ]

    def clean_staff(self) -> Staff:
        return self.staff_by_pk[self.cleaned_data["staff"]]


class GuardianForm(_Styled):
    relation = forms.ChoiceField(label=_("Relation"), choices=GuardianRelation.choices)
    name = forms.CharField(label=_("Name"), max_length=60)
    phone = forms.CharField(label=_("Mobile"), max_length=20)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    start_date = forms.DateField(
        label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class CircumstanceForm(_Styled):
    kind = forms.ChoiceField(label=_("Family circumstance"), choices=list(FAMILY_FLAGS.items()))
    source = forms.ChoiceField(label=_("Who or what says so"), choices=CircumstanceSource.choices)
    start_date = forms.DateField(
        label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
