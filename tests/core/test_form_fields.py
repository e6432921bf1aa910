"""Every form is drawn by the shared partial (includes/form_fields.html) with Bootstrap's class on
each widget: the safety forms (concern, verification) were Django's bare as_div before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django import forms
from django.template.loader import render_to_string

ROOT = Path(__file__).resolve().parents[2]


class EveryKind(forms.Form):
    text = forms.CharField(label="Text")
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"class": "font-monospace"}))
    pick = forms.ChoiceField(label="Pick", choices=[("a", "A"), ("b", "B")])
    urgency = forms.ChoiceField(
        label="Urgency", choices=[("now", "Now"), ("later", "Later")], widget=forms.RadioSelect
    )
    tags = forms.MultipleChoiceField(
        label="Tags", choices=[("x", "X")], widget=forms.CheckboxSelectMultiple, required=False
    )
    agree = forms.BooleanField(label="Agree")


def inputs(html: str) -> list[str]:
    return re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)


def test_each_widget_gets_bootstrap_class_for_its_kind():
    form = EveryKind(data={"urgency": "later", "note": ""})
    form.is_valid()
    html = render_to_string("includes/form_fields.html", {"form": form})
    tags = inputs(html)
    assert len(tags) == 7  # text, note, pick, two radios, one checkbox of tags, agree
    for tag in tags:
        assert re.search(r'class="[^"]*\b(form-control|form-select|form-check-input)\b', tag), tag
    assert 'class="font-monospace form-control is-invalid"' in html  # kept, added, marked
    assert re.search(
        r'<input class="form-check-input" type="radio" name="urgency" value="later" '
        r'id="id_urgency_1" checked required>',
        html,
    )
    assert html.count('data-error-for="text"') == 1


def test_no_template_draws_a_form_with_djangos_bare_renderers():
    bare = re.compile(r"\{\{\s*form(\.as_(div|p|table|ul))?\s*\}\}")
    found = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "xinqiao" / "templates").rglob("*.html")
        if bare.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.django_db
def test_the_concern_form_is_drawn_by_the_partial(world, client_for):
    html = client_for(world.head_teacher).get("/alerts/concerns/new/").content.decode()
    assert 'class="form-check-input" type="radio" name="urgency"' in html
    assert '<legend class="form-label fs-6">' in html
