from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.access.pickers import PickerField, bind_pickers, student_source
from xinqiao.access.roles import Cap

from . import selectors
from .models import Level, Outcome, Urgency

if TYPE_CHECKING:
    from xinqiao.access.scope import Principal
    from xinqiao.orgs.models import OrgUnit


CONCERN_STUDENTS = student_source(
    "concern-student",
    cap=Cap.FILE_CONCERN,
    scope=lambda principal: selectors.concern_students(principal=principal),
)


class ConcernForm(forms.Form):
    student = PickerField(CONCERN_STUDENTS, label=_("Student"))
    what_seen = forms.CharField(
        label=_("What did you see or hear?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
    )
    seen_on = forms.DateField(
        label=_("When"),
        # ISO, which a date input reads (the localised format left it empty in zh-hans)
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        initial=timezone.localdate,
    )
    urgency = forms.ChoiceField(
        label=_("How urgent"), choices=Urgency.choices, widget=forms.RadioSelect
    )

    source = forms.ChoiceField(label=_("Reported as"), choices=(), required=False)

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        from .services.concerns import sources_for

        super().__init__(*args, **kwargs)
        bind_pickers(self, principal)
        sources = sources_for(principal.roles)
        if len(sources) > 1:  # a choice only for those who have one (the monitoring duty)
            field: Any = self.fields["source"]
            field.choices = [(s.value, s.label) for s in sources]
            field.initial = sources[0].value
        else:
            del self.fields["source"]


class VerificationForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    new_level = forms.ChoiceField(
        label=_("New level (when changed)"),
        choices=[("", "—"), *Level.choices],
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason (what the interview showed)"), widget=forms.Textarea(attrs={"rows": 4})
    )
    guardian_informed = forms.BooleanField(
        label=_("The guardian has been informed"), required=False
    )


class RuleSetForm(forms.Form):
    unit: forms.ModelChoiceField[OrgUnit] = forms.ModelChoiceField(
        queryset=None, label=_("Applies to")
    )
    stage = forms.ChoiceField(label=_("School stage"), required=False)
    source = forms.CharField(
        label=_("Rules (YAML)"),
        widget=forms.Textarea(attrs={"rows": 30, "class": "font-monospace"}),
    )
    note = forms.CharField(label=_("Reason for the change"), max_length=300)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        from xinqiao.screening.models import StageBand

        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[OrgUnit]", self.fields["unit"]).queryset = units
        cast(forms.ChoiceField, self.fields["stage"]).choices = [
            ("", _("Every stage")),
            *StageBand.choices,
        ]


class DryRunForm(forms.Form):
    """The dry run on the rule-set editor: one student's answers per instrument (as for
    `manage.py score_instrument`), the stage and age; the rules are the editor's text."""

    stage = forms.ChoiceField(label=_("School stage"))
    age = forms.IntegerField(label=_("Age (years)"), required=False, min_value=5, max_value=30)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from xinqiao.instruments.engine import load_library
        from xinqiao.screening.models import StageBand

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["stage"]).choices = StageBand.choices
        self.fields["stage"].initial = StageBand.JUNIOR
        self.codes: list[str] = []
        for code, defn in sorted(load_library().items()):
            self.codes.append(code)
            self.fields[f"answers_{code}"] = forms.CharField(
                label=_("%(code)s answers (%(n)s questions)")
                % {"code": code, "n": len(defn.items)},
                required=False,
                widget=forms.TextInput(attrs={"placeholder": ",".join(["0"] * len(defn.items))}),
            )

    def answers_text(self) -> dict[str, str]:
        data = self.cleaned_data
        return {c: data[f"answers_{c}"] for c in self.codes if data.get(f"answers_{c}")}
