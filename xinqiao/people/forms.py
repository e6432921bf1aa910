"""Forms for the people pages. They validate input; selectors read and services write."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xinqiao.orgs.forms import style_fields

from .models import FAMILY_FLAGS, Gender, Position, Student, StudentStatus


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


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

    def __init__(self, *args: Any, unit_choices: dict[str, list[Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = {
            "district": _("All districts"),
            "school": _("All schools"),
            "grade": _("All grades"),
            "school_class": _("All classes"),
        }
        for name, label in labels.items():
            units = unit_choices.get(name)
            if units is None:
                del self.fields[name]
                continue
            cast(forms.ChoiceField, self.fields[name]).choices = _blank(label) + [
                (str(u.code), u.name) for u in units
            ]
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

    def __init__(self, *args: Any, units: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = _blank(_("All units")) + [
            (str(u.code), u.name) for u in units
        ]
        style_fields(self)
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})
