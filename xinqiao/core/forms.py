"""Form helpers shared by every app: a service's refusal shown on a form, and the retry key of a
create form."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

CLIENT_KEY_MAX = 64


def apply_service_error(
    form: forms.BaseForm,
    error: DomainError | ValidationError,
    *,
    aliases: Mapping[str, str] | None = None,
    default_field: str | None = None,
) -> None:
    """Show a service's refusal on `form`, each message next to the field it names.

    A service names its own arguments, which are not always the form's fields: `aliases` maps a
    service's name to the form's (`{"file": "letter"}`). A message naming a field the form lacks
    goes on the form as a whole; one naming no field goes on `default_field` when the form has
    it (the upload that a parser complains about), else on the form as a whole. A refusal
    naming several pieces (`DomainError.missing` / `.reasons`, or a ValidationError with several
    messages) adds every message.
    """
    for name, message in _messages(error):
        if name is None:
            target = default_field if default_field in form.fields else None
        else:
            name = (aliases or {}).get(name, name)
            target = name if name in form.fields else None
        form.add_error(target, message)


def _messages(error: DomainError | ValidationError) -> Iterator[tuple[str | None, str]]:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                for message in messages:
                    yield name, message
        else:
            for message in error.messages:
                yield None, message
    elif error.missing:
        yield from error.missing.items()
    elif error.reasons:
        for reason in error.reasons:
            yield None, reason
    else:
        yield error.field, error.message


class ClientKeyMixin(forms.Form):
    """A hidden retry key for a create form: the empty form gets a fresh key, a posted form sends
    it back, and the service returns the first result for a key it has seen (a double submit
    records once). It is a Form itself, so that its field is declared like any other:
    `class FollowUpForm(ClientKeyMixin)`, or `class X(ClientKeyMixin, forms.ModelForm)`.
    """

    client_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=CLIENT_KEY_MAX,
        # The field has no label: a missing or mangled key means the page is stale.
        error_messages={
            "required": _("The form has expired. Please reload the page and try again."),
            "max_length": _("The form has expired. Please reload the page and try again."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_key", uuid.uuid4().hex)
