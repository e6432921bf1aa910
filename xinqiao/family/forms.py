from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

GIVE = "give"
REFUSE = "refuse"


class ConsentAnswerForm(forms.Form):
    """A guardian's answer to one campaign's consent request."""

    answer = forms.ChoiceField(
        label=_("Your answer"),
        choices=[
            (GIVE, _("I agree to my child taking part")),
            (REFUSE, _("I do not agree")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note to the school (optional)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @property
    def granted(self) -> bool:
        return self.cleaned_data["answer"] == GIVE
