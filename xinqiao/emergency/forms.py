"""Forms for the helpline directory, crisis teams, plans and drills. They validate input only;
services write."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Staff

from .models import (
    CrisisTeam,
    EmergencyPlan,
    Hotline,
    PlanKind,
    TeamRole,
    validate_phone_number,
)

DATE = forms.DateInput(attrs={"type": "date"})


def _choices(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.org_unit.name}）"


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.title}（{obj.unit.name}）"


class TeamChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.unit.name}）"


class HotlineForm(forms.ModelForm):
    class Meta:
        model = Hotline
        fields = ["name", "number", "hours", "audience", "note", "order"]
        help_texts = {
            "hours": _("e.g. 24 hours, or 8:00–22:00"),
            "audience": _("e.g. students and parents"),
            "order": _("Lower numbers are shown first."),
        }


class TeamForm(forms.ModelForm):
    class Meta:
        model = CrisisTeam
        fields = ["name", "duty_phone", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}


class MemberForm(forms.Form):
    staff: StaffChoiceField = StaffChoiceField(
        label=_("Staff member"),
        queryset=Staff.objects.none(),
        required=False,
        help_text=_("Or leave empty and enter an outside person below."),
    )
    name = forms.CharField(label=_("Name (outside person)"), max_length=60, required=False)
    organisation = forms.CharField(label=_("Organisation"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=20, required=False, validators=[validate_phone_number]
    )
    role = forms.ChoiceField(label=_("Role"), choices=TeamRole.choices)
    started_on = forms.DateField(label=_("From"), widget=DATE, initial=timezone.localdate)

    def __init__(self, *args: Any, staff: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "staff").queryset = staff

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("staff") and not (data.get("name") or "").strip():
            self.add_error("name", _("Choose a staff member or enter the person's name."))
        return data


class EndMemberForm(forms.Form):
    ended_on = forms.DateField(label=_("Until"), widget=DATE, initial=timezone.localdate)


class _DocumentFields(forms.Form):
    document = forms.FileField(label=_("Plan document"), help_text=_("PDF or Word, at most 20 MB."))
    effective_on = forms.DateField(label=_("In force from"), widget=DATE)
    summary = forms.CharField(
        label=_("What changed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PlanForm(_DocumentFields):
    unit: UnitChoiceField = UnitChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    title = forms.CharField(label=_("Title"), max_length=150)
    kind = forms.ChoiceField(label=_("Kind"), choices=PlanKind.choices)

    field_order = ["unit", "title", "kind", "document", "effective_on", "summary"]

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit").queryset = units


class VersionForm(_DocumentFields):
    pass


class DrillForm(forms.Form):
    unit: UnitChoiceField = UnitChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    plan: PlanChoiceField = PlanChoiceField(
        label=_("Plan"), queryset=EmergencyPlan.objects.none(), required=False
    )
    held_on = forms.DateField(label=_("Date"), widget=DATE)
    scenario = forms.CharField(label=_("Scenario"), widget=forms.Textarea(attrs={"rows": 2}))
    participants = forms.CharField(
        label=_("Participants"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who took part: teams, schools, roles."),
    )
    participant_count = forms.IntegerField(label=_("Number of participants"), min_value=0)
    findings = forms.CharField(
        label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, units: Any, plans: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "unit").queryset = units
        _choices(self, "plan").queryset = plans


class ArrangementForm(forms.Form):
    plan: PlanChoiceField = PlanChoiceField(
        label=_("Emergency plan"), queryset=EmergencyPlan.objects.none(), required=False
    )
    team: TeamChoiceField = TeamChoiceField(
        label=_("Crisis-intervention team"), queryset=CrisisTeam.objects.none(), required=False
    )

    def __init__(self, *args: Any, plans: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "plan").queryset = plans
        _choices(self, "team").queryset = teams

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("plan") and not data.get("team"):
            raise forms.ValidationError(_("Choose a plan, a team or both."))
        return data
