"""Screening forms: they validate input only; services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.instruments.engine import load_library
from xinqiao.orgs.forms import style_fields
from xinqiao.orgs.models import Kind, OrgUnit, Term

from .models import CampaignKind, ConsentBasis, ResultsVisibility, StageBand, StudentLogin
from .selectors import text
from .services import DEFAULT_BATTERY


def instrument_choices(band: str) -> list[tuple[str, str]]:
    out = []
    for code, defn in sorted(load_library().items()):
        stages = defn.document.get("stages") or []
        if defn.respondent != "self" or (stages and band not in stages):
            continue
        out.append((code, f"{code} — {text(defn.names)}"))
    return out


class BatteryFormMixin:
    fields: dict[str, forms.Field]

    def add_battery_fields(self, initial: dict[str, list[str]] | None = None) -> None:
        initial = initial if initial is not None else DEFAULT_BATTERY
        for band, label in StageBand.choices:
            self.fields[f"battery_{band}"] = forms.MultipleChoiceField(
                label=label,
                choices=instrument_choices(band),
                required=False,
                initial=initial.get(band, []),
                widget=forms.CheckboxSelectMultiple,
            )

    def battery(self) -> dict[str, list[str]]:
        data: dict[str, Any] = self.cleaned_data  # type: ignore[attr-defined]
        return {band: list(data.get(f"battery_{band}") or []) for band in StageBand.values}


class CampaignForm(BatteryFormMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("of a thing", "Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=CampaignKind.choices)
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.all())
    owner_unit = forms.ModelChoiceField(label=_("Run by"), queryset=OrgUnit.objects.none())
    units = forms.ModelMultipleChoiceField(
        label=_("Covers (empty: the whole unit running it)"),
        queryset=OrgUnit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    grade_levels = forms.TypedMultipleChoiceField(
        label=_("Grades (none ticked: all grades)"),
        choices=[(g, str(g)) for g in range(1, 13)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    student_numbers = forms.CharField(
        label=_("Or an explicit list of students (national student numbers, one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    opens_at = forms.DateTimeField(
        label=_("Opens at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    # Semester screening is a statutory duty of schools (the city policy, seed §3), so that is the
    # default; campaigns beyond it (e.g. research) choose guardian consent.
    consent_basis = forms.ChoiceField(
        label=_("Consent basis"),
        choices=ConsentBasis.choices,
        initial=ConsentBasis.STATUTORY_DUTY,
    )
    legal_basis_note = forms.CharField(label=_("Legal basis (when statutory)"), required=False)
    results_visibility = forms.ChoiceField(
        label=_("Who sees individual results"), choices=ResultsVisibility.choices
    )
    student_login = forms.ChoiceField(
        label=_("Students sign in with"), choices=StudentLogin.choices
    )

    def __init__(self, *args: Any, owners: Any, coverable: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = owners  # type: ignore[attr-defined]
        self.fields["units"].queryset = coverable  # type: ignore[attr-defined]
        self.fields["term"].initial = Term.objects.current()
        self.add_battery_fields()
        style_fields(self)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        owner = data.get("owner_unit")
        for unit in data.get("units") or []:
            if owner is not None and not owner.contains(unit):
                self.add_error(
                    "units",
                    _("%(unit)s is outside the unit running the campaign.") % {"unit": unit},
                )
        return data

    def student_number_list(self) -> list[str]:
        raw = self.cleaned_data.get("student_numbers") or ""
        return [line.strip().upper() for line in raw.splitlines() if line.strip()]


class BatteryForm(BatteryFormMixin, forms.Form):
    def __init__(self, *args: Any, current: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_battery_fields(current)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-check-input"


def coverable_units(owner_units: Any) -> Any:
    """Units a campaign may cover: districts, schools, grades and classes under the owners."""
    return OrgUnit.objects.within(*owner_units).filter(
        kind__in=[Kind.CITY, Kind.DISTRICT, Kind.SCHOOL, Kind.GRADE, Kind.CLASS]
    )
