"""Forms for editing the org tree and terms. They only validate input; services do the writing."""

from __future__ import annotations

import copy
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Kind, OrgUnit, TermSeason

# The attributes an admin edits, per kind of unit.
FIELDS_BY_KIND: dict[str, list[str]] = {
    Kind.CITY: ["name", "sort_order"],
    Kind.DISTRICT: ["name", "district_kind", "sort_order"],
    Kind.CENTRE: ["name", "sort_order"],
    Kind.STATION: ["name", "sort_order"],
    Kind.HOSPITAL: ["name", "sort_order"],
    Kind.SCHOOL: [
        "name",
        "school_code",
        "stage",
        "student_count",
        "township_central",
        "sort_order",
    ],
    Kind.GRADE: ["name", "grade_level", "entry_year", "sort_order"],
    Kind.CLASS: ["name", "sort_order"],
}


def style_fields(form: forms.BaseForm) -> None:
    for bound in form.visible_fields():
        widget = bound.field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def unit_form_class(kind: str) -> type[forms.ModelForm]:
    class UnitForm(forms.ModelForm):
        class Meta:
            model = OrgUnit
            fields = FIELDS_BY_KIND[kind]

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if "name" in self.fields:
                self.fields["name"].widget.attrs["autofocus"] = True
            self.fields["sort_order"].required = False
            style_fields(self)

        def clean_sort_order(self) -> int:
            return self.cleaned_data.get("sort_order") or 0

    return UnitForm


def unit_form(
    kind: str, *, unit: OrgUnit | None = None, parent: OrgUnit | None = None, data: Any = None
) -> forms.ModelForm:
    """A form for one kind of unit. Editing works on a copy so the service sees what changed."""
    instance = copy.copy(unit) if unit is not None else OrgUnit(parent=parent, kind=kind)
    return unit_form_class(kind)(data=data, instance=instance)


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.parent.name} / {obj.name}" if obj.parent_id else str(obj.name)


class MoveForm(forms.Form):
    new_parent = UnitChoiceField(
        queryset=OrgUnit.objects.none(), label=_("New parent unit"), to_field_name="code"
    )

    def __init__(self, *args: Any, targets: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(UnitChoiceField, self.fields["new_parent"]).queryset = targets
        style_fields(self)


class TermForm(forms.Form):
    school_year_start = forms.IntegerField(
        label=_("School year (start)"), min_value=2000, max_value=2100
    )
    season = forms.ChoiceField(label=_("Term"), choices=TermSeason.choices)
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(label=_("End date"), widget=forms.DateInput(attrs={"type": "date"}))
    make_current = forms.BooleanField(label=_("Make it the current term"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)
