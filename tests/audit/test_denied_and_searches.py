"""Denied requests (403/404 raised by views) and the auditor's own searches are audited."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from xinqiao.audit.denied import summarise_closed_windows
from xinqiao.audit.models import AuditEvent, DeniedRequestTally
from xinqiao.audit.services import verify_chain


def denied(**kw):
    return AuditEvent.objects.filter(action="access.request.denied", **kw).order_by("seq")


def test_a_404_outside_scope_is_audited_with_the_path_but_no_query_values(world, client_for):
    url = reverse("people:student-detail", args=[world.stu_a1.code])
    response = client_for(world.psych_b).get(url, {"id_number": "36010220130101001X"})
    assert response.status_code == 404
    event = denied().get()
    assert event.actor_id == world.psych_b.pk
    assert event.result == "denied"
    assert event.fields == {"path": url, "method": "GET", "status": 404, "query": ["id_number"]}
    assert "36010220130101001X" not in str(event.fields)
    assert verify_chain()[0]


def test_a_403_without_the_capability_is_audited(world, client_for):
    response = client_for(world.head_teacher).get(reverse("audit:event-list"))
    assert response.status_code == 403
    event = denied().get()
    assert event.actor_id == world.head_teacher.pk
    assert event.fields["status"] == 403
    assert event.fields["path"] == reverse("audit:event-list")


def test_allowed_requests_unknown_urls_and_static_files_are_not_audited(world, client_for, client):
    client_for(world.psych).get(reverse("people:student-detail", args=[world.stu_a1.code]))
    client_for(world.psych).get("/no/such/page/")
    client.get("/favicon.ico")
    client.get("/static/no-such-file.css")
    assert not denied().exists()


@pytest.fixture
def tight_limit(settings):
    settings.AUDIT_DENIED_PER_MINUTE = 3
    return 3


def test_denials_are_rate_bound_per_user_and_minute_then_summarised(
    world, client_for, tight_limit, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 5, tzinfo=datetime.UTC))
    crawler = client_for(world.psych_b)
    urls = [reverse("people:student-detail", args=[world.stu_a1.code])] * 12
    for url in urls:
        assert crawler.get(url).status_code == 404
    # another user's denials are counted on their own
    assert client_for(world.head_teacher).get(reverse("audit:event-list")).status_code == 403
    assert denied(actor=world.psych_b).count() == tight_limit
    assert denied(actor=world.head_teacher).count() == 1
    assert DeniedRequestTally.objects.get(subject=f"user:{world.psych_b.pk}").count == 12

    # the minute is over: the periodic task writes one summary with the count
    assert (
        summarise_closed_windows(datetime.datetime(2026, 3, 2, 9, 1, 1, tzinfo=datetime.UTC)) == 1
    )
    summary = AuditEvent.objects.get(action="access.request.denied_summarised")
    assert summary.actor_id == world.psych_b.pk
    assert summary.fields == {
        "minute": "2026-03-02T09:00:00+00:00",
        "denied": 12,
        "recorded": 3,
        "not_recorded": 9,
    }
    assert not DeniedRequestTally.objects.exists()
    assert verify_chain()[0]


def test_a_new_minute_records_again_and_summarises_the_last(
    world, client_for, tight_limit, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 0, 5, tzinfo=datetime.UTC))
    crawler = client_for(world.psych_b)
    url = reverse("people:student-detail", args=[world.stu_a1.code])
    for _ in range(5):
        crawler.get(url)
    time_machine.move_to(datetime.datetime(2026, 3, 2, 9, 1, 5, tzinfo=datetime.UTC))
    crawler.get(url)
    assert denied(actor=world.psych_b).count() == tight_limit + 1
    summary = AuditEvent.objects.get(action="access.request.denied_summarised")
    assert summary.fields["not_recorded"] == 2
    assert summary.seq < denied().last().seq


def test_anonymous_denials_are_keyed_on_the_client_address(db, rf, tight_limit):
    from django.contrib.auth.models import AnonymousUser
    from django.http import Http404

    from xinqiao.audit.context import AuditContext, current
    from xinqiao.audit.middleware import DeniedRequestMiddleware

    middleware = DeniedRequestMiddleware(lambda request: None)
    token = current.set(AuditContext(ip="203.0.113.7"))
    try:
        for path in ["/take/link/guess/"] * 5 + ["/favicon.ico", "/static/x.css"]:
            request = rf.get(path)
            request.user = AnonymousUser()
            assert middleware.process_exception(request, Http404()) is None
    finally:
        current.reset(token)
    assert denied().count() == tight_limit
    assert {e.ip for e in denied()} == {"203.0.113.7"}
    assert {e.actor_id for e in denied()} == {None}
    tally = DeniedRequestTally.objects.get()
    assert (tally.subject, tally.count) == ("ip:203.0.113.7", 5)


# --- the auditor's own searches --------------------------------------------------------------
def test_the_auditors_searches_are_audited_with_their_filters(world, client_for):
    auditor = client_for(world.auditor)
    assert auditor.get(reverse("audit:event-list")).status_code == 200
    response = auditor.get(
        reverse("audit:event-list"), {"actor": "psych_a", "action": "people.", "result": "ok"}
    )
    assert response.status_code == 200
    searches = list(AuditEvent.objects.filter(action="audit.log.searched").order_by("seq"))
    assert [s.actor_id for s in searches] == [world.auditor.pk] * 2
    assert searches[0].fields == {"filters": {}}
    assert searches[1].fields == {
        "filters": {"actor": "psych_a", "action": "people.", "result": "ok"}
    }
    # the event is written after the page is read: it does not list itself
    assert searches[1].seq not in [e.seq for e in response.context["page"].events]


def test_a_refused_search_is_a_denied_request_not_a_search(world, client_for):
    assert client_for(world.psych).get(reverse("audit:event-list")).status_code == 403
    assert not AuditEvent.objects.filter(action="audit.log.searched").exists()
    assert denied().count() == 1
