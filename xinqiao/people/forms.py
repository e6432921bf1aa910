"""Forms for the people pages. They validate input; selectors read and services write."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xinqiao.access.pickers import PickerField, unit_source
from xinqiao.access.roles import Cap
from xinqiao.orgs.forms import style_fields
from xinqiao.orgs.models import Kind

from .models import FAMILY_FLAGS, Gender, Position, Student, StudentStatus

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
