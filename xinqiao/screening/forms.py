"""Screening forms: they validate input only; services write."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.access.pickers import PickerMultipleField, bind_pickers, unit_source
from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.instruments.models import Status
from xinqiao.instruments.selectors import catalogue
from xinqiao.orgs.forms import style_fields
from xinqiao.orgs.models import Kind, OrgUnit, Stage, Term

from . import selectors
from .models import CampaignKind, ConsentBasis, ResultsVisibility, StageBand, StudentLogin
from .selectors import text
from .services import DEFAULT_BATTERY
from .services.common import recommended_order


def instrument_choices(band: str) -> list[tuple[str, str]]:
    """Self-report instruments of a stage that can be taken online (item texts present: a
    licensed instrument whose texts the deployer has not imported is paper-only), in the
    recommended order (ticking keeps it)."""
    latest = {e.code: e.definition for e in catalogue() if e.status == Status.APPROVED}
    out = []
    for code in recommended_order(sorted(latest)):
        defn = latest[code]
        stages = defn.document.get("stages") or []
        if defn.respondent != "self" or not defn.text_shipped or (stages and band not in stages):
            continue
        out.append((code, f"{code} — {text(defn.names)}"))
    return out


# The grades a school of each stage teaches, and the stage bands they fall in (as assignments
# are banded when a campaign opens: screening/services/assignments.py).
GRADES_OF_STAGE = {
    Stage.PRIMARY: range(1, 7),
    Stage.JUNIOR: range(7, 10),
    Stage.SENIOR: range(10, 13),
    Stage.NINE_YEAR: range(1, 10),
    Stage.TWELVE_YEAR: range(1, 13),
    Stage.VOCATIONAL: range(10, 13),
    Stage.SPECIAL: range(1, 13),
}


def band_of(grade: int, stage: str) -> str:
    if stage == Stage.VOCATIONAL:
        return StageBand.VOCATIONAL
    if grade <= 3:
        return StageBand.PRIMARY_LOWER
    if grade <= 6:
        return StageBand.PRIMARY_UPPER
    return StageBand.JUNIOR if grade <= 9 else StageBand.SENIOR


def school_grades_and_bands(owners: Any) -> tuple[list[int], list[str]] | None:
    """The grades and stage bands of the schools that may run a campaign, or None when a
    district or the city may (every grade)."""
    units = list(owners)
    if not units or any(u.kind != Kind.SCHOOL for u in units):
        return None
    grades = sorted({g for u in units for g in GRADES_OF_STAGE.get(u.stage, range(1, 13))})
    bands = {band_of(g, u.stage) for u in units for g in GRADES_OF_STAGE.get(u.stage, range(1, 13))}
    return grades, [b for b in StageBand.values if b in bands]


def _codes(raw: str) -> list[str]:
    return [c.upper() for c in re.split(r"[\s,，、;；]+", raw or "") if c]


class BatteryFormMixin:
    """One group of boxes per stage band and, beside it, the order students answer in: empty
    means the recommended order (well-being and mood first, the suicide-risk questions after the
    depression scale); instruments ticked but not named in the order follow in that order."""

    fields: dict[str, forms.Field]

    def add_battery_fields(
        self, initial: dict[str, list[str]] | None = None, bands: list[str] | None = None
    ) -> None:
        prefill = initial is not None
        initial = initial if initial is not None else DEFAULT_BATTERY
        self.bands = bands or list(StageBand.values)
        for band, label in StageBand.choices:
            if band not in self.bands:
                continue
            self.fields[f"battery_{band}"] = forms.MultipleChoiceField(
                label=label,
                choices=instrument_choices(band),
                required=False,
                initial=initial.get(band, []),
                widget=forms.CheckboxSelectMultiple,
            )
            self.fields[f"order_{band}"] = forms.CharField(
                label=_("Order students answer in"),
                required=False,
                initial=", ".join(initial.get(band, [])) if prefill else "",
                help_text=_("Codes separated by commas. Empty: the recommended order."),
                widget=forms.TextInput(
                    attrs={"placeholder": ", ".join(recommended_order(initial.get(band, [])))}
                ),
            )

    def battery_groups(self) -> list[tuple[Any, Any]]:
        """(boxes, order) bound fields per stage band, for the templates."""
        form: Any = self
        return [(form[f"battery_{band}"], form[f"order_{band}"]) for band in self.bands]

    def clean_battery_orders(self, data: dict[str, Any]) -> None:
        form: Any = self
        for band in self.bands:
            known = {code for code, _label in instrument_choices(band)}
            unknown = [c for c in _codes(data.get(f"order_{band}") or "") if c not in known]
            if unknown:
                form.add_error(
                    f"order_{band}",
                    _("Not an instrument of this stage: %(codes)s") % {"codes": ", ".join(unknown)},
                )

    def battery(self) -> dict[str, list[str]]:
        data: dict[str, Any] = self.cleaned_data  # type: ignore[attr-defined]
        out: dict[str, list[str]] = {}
        for band in self.bands:
            ticked = list(data.get(f"battery_{band}") or [])
            named = [c for c in _codes(data.get(f"order_{band}") or "") if c in ticked]
            out[band] = list(dict.fromkeys(named)) + recommended_order(
                [c for c in ticked if c not in named]
            )
        return out


CAMPAIGN_UNITS = unit_source(
    "campaign-unit",
    cap=Cap.MANAGE_CAMPAIGNS,
    scope=lambda principal: selectors.campaign_coverable_units(principal),
)


class CampaignForm(BatteryFormMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("of a thing", "Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=CampaignKind.choices)
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.all())
    owner_unit = forms.ModelChoiceField(label=_("Run by"), queryset=OrgUnit.objects.none())
    units = PickerMultipleField(
        CAMPAIGN_UNITS, label=_("Covers (empty: the whole unit running it)"), required=False
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

    def __init__(self, *args: Any, owners: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = owners  # type: ignore[attr-defined]
        bind_pickers(self, principal)
        current = Term.objects.current()
        self.fields["term"].initial = current
        if current is not None:  # the kind agrees with the term it defaults to
            self.fields["kind"].initial = (
                CampaignKind.ROUTINE_SPRING
                if current.season == "spring"
                else CampaignKind.ROUTINE_AUTUMN
            )
        school = school_grades_and_bands(owners)
        if school is not None:  # a school's own grades and stages, its classes as boxes
            grades, bands = school
            self.fields["grade_levels"].choices = [(g, str(g)) for g in grades]  # type: ignore[attr-defined]
            # One school's grades and classes are few: boxes (posting codes) instead of a search.
            self.fields["units"].widget = forms.CheckboxSelectMultiple()
            self.fields["units"].widget.choices = self.fields["units"].choices  # type: ignore[attr-defined]
            self.add_battery_fields(bands=bands)
        else:
            self.add_battery_fields()
        style_fields(self)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_battery_orders(data)
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
        for name, field in self.fields.items():
            field.widget.attrs["class"] = (
                "form-control form-control-sm" if name.startswith("order_") else "form-check-input"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_battery_orders(data)
        return data


class VoidHandInForm(forms.Form):
    """Voiding a hand-in: the reason is required (encrypted when stored); `hand_in` names the
    questionnaire the teacher looked at, so a second submit voids nothing else."""

    reason = forms.CharField(
        label=_("Why is this hand-in void?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason for voiding this hand-in.")},
        help_text=_(
            "E.g. “signed in from three browsers; the class teacher saw a classmate answer”. "
            "Kept encrypted; only the reason’s existence goes to the audit log."
        ),
    )
    hand_in = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)
