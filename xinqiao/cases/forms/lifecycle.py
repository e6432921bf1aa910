"""Forms of the case list and the case page (filters, step down)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinqiao.alerts.models import Level

from ..models import CaseStatus


class CaseFilterForm(forms.Form):
    level = forms.ChoiceField(
        label=_("Level"), choices=[("", _("Any level")), *Level.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[
            (CaseStatus.OPEN, _("Open cases")),
            (CaseStatus.CLOSED, _("Closed cases")),
            ("all", _("All cases")),
        ],
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.widget.attrs.update({"class": "form-select form-select-sm", "data-autosubmit": ""})


class StepDownRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the level can step down"),
        help_text=_(
            "Read by the moral-education leader, who approves: what changed and what the "
            "evidence is. Keep clinical detail in the follow-up notes."
        ),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class StepDownDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(
        label=_("Note (required when rejecting)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
