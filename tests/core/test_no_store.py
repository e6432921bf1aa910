"""Pages and API answers that carry personal data are never stored by a browser or a proxy."""

from __future__ import annotations

import pytest
from django.urls import reverse


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_signed_in_pages_and_api_answers_are_not_stored(world, client_for):
    client = client_for(world.psych)

    for path in (
        reverse("home"),
        reverse("people:student-list"),
        reverse("people:student-detail", kwargs={"code": world.stu_a1.code}),
        reverse("alerts:worklist"),
        reverse("cases:case-detail", kwargs={"code": world.case_a2.code}),
        "/api/v1/students",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert _no_store(response), (path, response.get("Cache-Control"))


@pytest.mark.django_db
def test_refusals_and_anonymous_pages_are_not_stored(world, client_for, client):
    refused = client_for(world.psych_b).get(
        reverse("people:student-detail", kwargs={"code": world.stu_a1.code})
    )
    login = client.get(reverse("login"))
    take = client.get(reverse("take:enter"))

    assert refused.status_code == 404
    assert _no_store(refused)
    assert _no_store(login)
    assert _no_store(take)
