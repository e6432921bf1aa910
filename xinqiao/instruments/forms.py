from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class UploadInstrumentForm(forms.Form):
    file = forms.FileField(
        label=_("Definition file (YAML or JSON)"),
        help_text=_(
            "One instrument version, in the format the documentation describes "
            "(instruments chapter)."
        ),
    )
