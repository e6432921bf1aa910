"""The audit-log search form: every field optional, all of it in the query string."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xinqiao.access.scope import Principal

from .selectors import EventFilter, schools_for

RESULT_SUGGESTIONS = ("ok", "denied", "failed")


class EventSearchForm(forms.Form):
    actor = forms.CharField(label=_("User name"), max_length=150, required=False)
    action = forms.CharField(
        label=_("Action"),
        max_length=80,
        required=False,
        help_text=_("Starts with the action's code, as shown in the Action column."),
    )
    object_type = forms.CharField(
        label=_("Object type"),
        max_length=60,
        required=False,
        help_text=_("The object's type code, as shown in the Object column."),
    )
    object_id = forms.CharField(label=_("Object ID"), max_length=64, required=False)
    school = forms.CharField(
        label=_("School"),
        max_length=40,
        required=False,
        help_text=_("School identification code"),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    result = forms.CharField(label=_("Result"), max_length=16, required=False)
    before = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.principal = principal
        self.fields["result"].widget.attrs["list"] = "audit-results"
        for name in ("actor", "action", "object_type", "object_id", "school", "result"):
            self.fields[name].widget.attrs["autocomplete"] = "off"
        for bound in self.fields.values():
            if not isinstance(bound.widget, forms.HiddenInput):
                bound.widget.attrs["class"] = "form-control form-control-sm"

    def clean_actor(self) -> str:
        return self.cleaned_data["actor"].strip()

    def clean_action(self) -> str:
        return self.cleaned_data["action"].strip()

    def clean_object_type(self) -> str:
        return self.cleaned_data["object_type"].strip().lower()

    def clean_object_id(self) -> str:
        return self.cleaned_data["object_id"].strip()

    def clean_result(self) -> str:
        return self.cleaned_data["result"].strip()

    def clean_school(self) -> Any:
        value = self.cleaned_data["school"].strip()
        if not value:
            return None
        schools = schools_for(self.principal)
        try:
            school = schools.filter(code=uuid.UUID(value)).first()
        except ValueError:
            school = schools.filter(school_code=value).first()
        if school is None:
            raise forms.ValidationError(_("No school with this code in your area."))
        return school

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def event_filter(self) -> EventFilter:
        """The criteria of a valid form (call after is_valid())."""
        data = self.cleaned_data
        return EventFilter(
            actor=data.get("actor", ""),
            action=data.get("action", ""),
            object_type=data.get("object_type", ""),
            object_id=data.get("object_id", ""),
            school=data.get("school"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            result=data.get("result", ""),
        )
