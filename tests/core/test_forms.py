"""The form helpers of core: a service's refusal on a form, the retry-key mixin, and the shared
form-fields and pagination partials."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory

from xinqiao.core.errors import DomainError
from xinqiao.core.forms import ClientKeyMixin, apply_service_error

EXPIRED = "The form has expired. Please reload the page and try again."


class NoteForm(forms.Form):
    title = forms.CharField(help_text="A few words.")
    letter = forms.CharField(required=False)
    urgent = forms.BooleanField(required=False, label="Urgent")
    how = forms.ChoiceField(
        choices=[("call", "Call"), ("visit", "Visit")], widget=forms.RadioSelect
    )
    secret = forms.CharField(widget=forms.HiddenInput, required=False)


def _form() -> NoteForm:
    form = NoteForm({"title": "x", "how": "call"})
    assert form.is_valid()
    return form


# --- apply_service_error -----------------------------------------------------------------------


def test_a_refusal_naming_a_field_goes_next_to_it():
    form = _form()
    apply_service_error(form, DomainError("Too short.", field="title"))
    assert form.errors == {"title": ["Too short."]}


def test_a_refusal_without_a_field_goes_on_the_whole_form():
    form = _form()
    apply_service_error(form, DomainError("Not now."))
    assert form.non_field_errors() == ["Not now."]
    assert list(form.errors) == ["__all__"]


def test_a_field_the_form_lacks_goes_on_the_whole_form():
    form = _form()
    apply_service_error(form, DomainError("Unknown.", field="hospital"), default_field="letter")
    assert form.non_field_errors() == ["Unknown."]


def test_aliases_map_the_services_name_to_the_forms():
    form = _form()
    apply_service_error(form, DomainError("Upload it.", field="file"), aliases={"file": "letter"})
    assert form.errors == {"letter": ["Upload it."]}


def test_default_field_takes_a_refusal_that_names_no_field():
    form = _form()
    apply_service_error(form, DomainError("Bad file."), default_field="letter")
    apply_service_error(form, DomainError("Too long.", field="title"), default_field="letter")
    assert form.errors == {"letter": ["Bad file."], "title": ["Too long."]}


def test_a_default_field_the_form_lacks_falls_back_to_the_whole_form():
    form = _form()
    apply_service_error(form, DomainError("Bad."), default_field="source")
    assert form.non_field_errors() == ["Bad."]


def test_every_missing_piece_goes_next_to_its_field():
    class Incomplete(DomainError):
        def __init__(self, missing: dict[str, str]) -> None:
            super().__init__(" ".join(missing.values()), field=next(iter(missing)))
            self.missing = missing

    form = _form()
    apply_service_error(form, Incomplete({"title": "Need a title.", "plan": "Need a plan."}))
    assert form.errors == {"title": ["Need a title."], "__all__": ["Need a plan."]}


def test_every_reason_goes_on_the_whole_form():
    class Refused(DomainError):
        def __init__(self, reasons: list[str]) -> None:
            super().__init__(" ".join(reasons))
            self.reasons = reasons

    form = _form()
    apply_service_error(form, Refused(["Too soon.", "Still red."]))
    assert form.non_field_errors() == ["Too soon.", "Still red."]


def test_a_validation_error_with_fields_and_without():
    form = _form()
    apply_service_error(form, ValidationError({"title": ["Taken."], "other": ["Odd."]}))
    apply_service_error(form, ValidationError(["Weak.", "Short."]), default_field="letter")
    assert form.errors == {"title": ["Taken."], "__all__": ["Odd."], "letter": ["Weak.", "Short."]}


# --- ClientKeyMixin ----------------------------------------------------------------------------


class KeyedNoteForm(ClientKeyMixin):
    title = forms.CharField()


def test_the_empty_form_gets_a_fresh_key_each_time():
    first, second = KeyedNoteForm(), KeyedNoteForm()
    assert re.fullmatch(r"[0-9a-f]{32}", first.initial["client_key"])
    assert first.initial["client_key"] != second.initial["client_key"]
    assert KeyedNoteForm(initial={"client_key": "given"}).initial["client_key"] == "given"


def test_the_key_makes_the_round_trip_in_a_hidden_input():
    shown = KeyedNoteForm()
    key = shown.initial["client_key"]
    assert f'<input type="hidden" name="client_key" value="{key}"' in str(shown["client_key"])

    posted = KeyedNoteForm({"title": "x", "client_key": key})
    assert posted.is_valid()
    assert posted.cleaned_data["client_key"] == key


@pytest.mark.parametrize("key", ["", "k" * 65])
def test_a_missing_or_mangled_key_is_a_stale_form(key):
    form = KeyedNoteForm({"title": "x", "client_key": key})
    assert not form.is_valid()
    assert form.errors["client_key"] == [EXPIRED]


def test_the_mixin_combines_with_another_form_base():
    class Both(ClientKeyMixin, NoteForm):
        pass

    assert set(Both().fields) == {"client_key", *NoteForm.base_fields}


# --- the partials ------------------------------------------------------------------------------


def test_form_fields_partial_renders_hidden_fields_errors_and_help():
    form = NoteForm({"title": "", "how": "call", "secret": "s3"})
    form.is_valid()
    form.add_error(None, "The whole form is wrong.")
    form.add_error("secret", "Stale.")
    html = render_to_string("includes/form_fields.html", {"form": form})

    assert html.count('type="hidden"') == 1
    assert 'for="id_secret"' not in html  # a hidden field has no label
    assert "The whole form is wrong." in html
    assert '<div class="alert alert-danger py-2" role="alert" data-error-for="secret">' in html
    assert "Stale." in html
    assert re.search(r'data-error-for="title">[^<]*required', html)
    assert '<div class="form-text">A few words.</div>' in html
    assert 'class="form-check mb-3"' in html  # the checkbox
    assert '<legend class="form-label fs-6">How' in html  # the radios
    assert 'for="id_title">Title <span class="text-danger" aria-hidden="true">*</span>' in html


def _pager(query: str, **extra: object) -> str:
    request = RequestFactory().get("/list/?" + query)
    page = Paginator(range(100), 10).get_page(request.GET.get(str(extra.get("key") or "page")))
    return render_to_string("includes/pagination.html", {"page": page, **extra}, request=request)


def test_pagination_keeps_the_other_parameters():
    html = _pager("q=%E5%BC%A0&status=open&page=3")

    assert "Page 3 of 10" in html
    assert 'href="?q=%E5%BC%A0&amp;status=open&amp;page=2"' in html
    assert 'href="?q=%E5%BC%A0&amp;status=open&amp;page=4"' in html


def test_pagination_with_its_own_key_and_anchor_keeps_other_sections_pages():
    html = _pager("alerts=2&tasks=3", key="tasks", anchor="tasks", footer=True)

    assert "Page 3 of 10" in html
    assert 'href="?alerts=2&amp;tasks=2#tasks"' in html
    assert 'href="?alerts=2&amp;tasks=4#tasks"' in html
    assert 'class="card-footer py-1"' in html


def test_pagination_is_empty_for_one_page():
    request = RequestFactory().get("/list/")
    page = Paginator(range(5), 10).get_page(1)
    assert (
        render_to_string("includes/pagination.html", {"page": page}, request=request).strip() == ""
    )
