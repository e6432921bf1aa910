"""The auditor's search and export; nobody else gets in, and nothing can be changed."""

from __future__ import annotations

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse

from tests.conftest import _user
from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.audit.selectors import PAGE_SIZE, EventFilter, iter_events
from xinqiao.audit.services import record_event, verify_chain

LIST = "audit:event-list"
EXPORT = "audit:event-export"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def seqs(response):
    return [e.seq for e in response.context["page"].events]


def export_rows(response):
    """The rows after the watermark line (checked here: every export has one)."""
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][0].startswith("Exported by: ")
    return rows[1:]


def _at(seq: int, when: datetime.datetime) -> None:
    """Move an event in time for date-range tests (re-hashing is irrelevant to the search)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(
            "UPDATE audit_auditevent SET at = %s WHERE seq = %s",
            [connection.ops.adapt_datetimefield_value(when), seq],
        )


@pytest.fixture
def district_auditor(world):
    return _user("auditor_a", "甲区审计员", world.district_a, Role.AUDITOR)


# --- who gets in ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [LIST, EXPORT])
def test_only_the_auditor_gets_in(world, client_for, client, url):
    assert client_for(world.auditor).get(reverse(url)).status_code == 200
    refused = {
        role: client_for(user).get(reverse(url)).status_code
        for role, user in world.by_role.items()
        if role != Role.AUDITOR
    }
    assert refused == {role: 403 for role in refused}
    anonymous = client.get(reverse(url))
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("login"))


def test_nothing_changes_the_log_through_the_ui(world, client_for):
    client = client_for(world.auditor)
    before = list(AuditEvent.objects.values_list("seq", "hash"))
    for url in (LIST, EXPORT):
        for method in (client.post, client.put, client.patch, client.delete):
            assert method(reverse(url)).status_code == 405
    assert list(AuditEvent.objects.values_list("seq", "hash")) == before
    names = set(get_resolver().namespace_dict["audit"][1].reverse_dict.keys())
    assert {n for n in names if isinstance(n, str)} == {"event-list", "event-export"}


def test_audit_log_tile_only_for_auditors(world, client_for):
    home = reverse("home")
    assert b'data-tile="audit:event-list"' in client_for(world.auditor).get(home).content
    assert b'data-tile="audit:event-list"' not in client_for(world.city_admin).get(home).content


# --- the list ------------------------------------------------------------------------------------
def test_list_shows_newest_first_without_counting(world, client_for):
    for number in range(PAGE_SIZE + 10):
        record_event(actor=world.psych, action="test.thing.done", object_id=number)
    client = client_for(world.auditor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(LIST))
    assert response.status_code == 200
    # the newest event is the search's own, written after the page was read
    searched = AuditEvent.objects.order_by("-seq").first()
    assert searched.action == "audit.log.searched"
    last = searched.seq - 1
    assert seqs(response) == list(range(last, last - PAGE_SIZE, -1))
    # the log is never counted (the navigation's unread-message badge counts the user's inbox)
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert not any("COUNT(" in q and "AUDIT_AUDITEVENT" in q for q in sql)
    assert len(sql) < 15
    assert response.context["page"].newer is None
    assert response.context["page"].older == last - PAGE_SIZE + 1


def test_keyset_pages_walk_back_and_forth(world, client_for):
    for number in range(2 * PAGE_SIZE):
        record_event(actor=world.psych, action="test.thing.done", object_id=number)
    client = client_for(world.auditor)
    url = reverse(LIST)
    query = {"action": "test.thing"}
    first = client.get(url, query)
    second = client.get(url, {**query, "before": first.context["page"].older})
    assert seqs(second) == [s - PAGE_SIZE for s in seqs(first)]
    assert second.context["page"].older is None  # nothing older matches the filter
    back = client.get(url, {**query, "after": second.context["page"].newer})
    assert seqs(back) == seqs(first)
    assert (
        back.context["page"].newer is None
        or not client.get(url, {**query, "after": back.context["page"].newer})
        .context["page"]
        .events
    )
    html = second.content.decode()
    assert f"after={second.context['page'].newer}" in html
    assert "action=test.thing" in html


def test_search_by_actor_action_object_and_result(world, client_for):
    start = AuditEvent.objects.order_by("-seq").first().seq
    record_event(actor=world.psych, action="test.student.viewed", obj=world.stu_a1)
    record_event(actor=world.psych_b, action="test.student.viewed", obj=world.stu_b1)
    record_event(
        actor=world.psych, action="test.student.exported", obj=world.stu_a1, result="denied"
    )
    client = client_for(world.auditor)

    def found(**query):
        events = client.get(reverse(LIST), query).context["page"].events
        return [(e.seq - start, e.action) for e in events if e.action.startswith("test.")]

    assert found(actor="psych_a") == [(3, "test.student.exported"), (1, "test.student.viewed")]
    assert found(actor="psych_a", result="denied") == [(3, "test.student.exported")]
    viewed = [(2, "test.student.viewed"), (1, "test.student.viewed")]
    assert found(action="test.student.viewed") == viewed
    assert found(action="test.student.") == [
        (3, "test.student.exported"),
        (2, "test.student.viewed"),
        (1, "test.student.viewed"),
    ]
    assert found(action="test.student.v", actor="psych_b") == [(2, "test.student.viewed")]
    by_object = (
        client.get(
            reverse(LIST), {"object_type": "people.student", "object_id": str(world.stu_b1.pk)}
        )
        .context["page"]
        .events
    )
    assert {e.object_id for e in by_object} == {str(world.stu_b1.pk)}
    assert next(e.action for e in by_object) == "test.student.viewed"
    assert "people.student.created" in [e.action for e in by_object]
    # Actions match by prefix only, never by substring.
    assert found(action="student") == []


def test_search_by_school(world, client_for):
    client = client_for(world.auditor)
    response = client.get(reverse(LIST), {"school": world.school_b.school_code})
    events = response.context["page"].events
    assert events
    assert {e.school_id for e in events} == {world.school_b.pk}
    by_uuid = client.get(reverse(LIST), {"school": str(world.school_b.code)})
    assert seqs(by_uuid) == seqs(response)
    unknown = client.get(reverse(LIST), {"school": "9999999999"})
    assert unknown.context["page"] is None
    assert unknown.context["form"].errors["school"]


def test_date_range_is_in_shanghai_time(world, client_for):
    early = record_event(actor=world.psych, action="test.day.edge").seq
    late = record_event(actor=world.psych, action="test.day.edge").seq
    # 2026-10-01 23:30 in Shanghai is still 1 October there, but 15:30 UTC.
    _at(early, datetime.datetime(2026, 10, 1, 0, 10, tzinfo=SHANGHAI))
    _at(late, datetime.datetime(2026, 10, 1, 23, 30, tzinfo=SHANGHAI))
    client = client_for(world.auditor)

    def found(**query):
        return seqs(client.get(reverse(LIST), {"action": "test.day", **query}))

    assert found(date_from="2026-10-01", date_to="2026-10-01") == [late, early]
    assert found(date_from="2026-10-02") == []
    assert found(date_to="2026-09-30") == []
    bad = client.get(reverse(LIST), {"date_from": "2026-10-02", "date_to": "2026-10-01"})
    assert bad.context["form"].errors["date_to"]


def test_shows_times_in_shanghai_and_labels(world, client_for):
    seq = record_event(
        actor=world.psych, action="test.time.shown", role=Role.PSYCHOLOGY_TEACHER
    ).seq
    _at(seq, datetime.datetime(2026, 10, 1, 23, 30, tzinfo=SHANGHAI))
    response = client_for(world.auditor).get(reverse(LIST), {"action": "test.time"})
    html = response.content.decode()
    assert "2026-10-01 23:30:00" in html
    assert str(Role.PSYCHOLOGY_TEACHER.label) in html


# --- a district auditor --------------------------------------------------------------------------
def test_district_auditor_sees_only_the_district(world, client_for, district_auditor):
    record_event(actor=world.psych, action="people.student.viewed", obj=world.stu_a1)
    record_event(actor=world.psych_b, action="people.student.viewed", obj=world.stu_b1)
    client = client_for(district_auditor)
    page_events = []
    response = client.get(reverse(LIST))
    while True:
        page_events += response.context["page"].events
        if response.context["page"].older is None:
            break
        response = client.get(reverse(LIST), {"before": response.context["page"].older})
    district_units = {
        str(u.pk)
        for u in (
            world.district_a,
            world.station_a,
            world.school_a,
            world.grade_a7,
            world.class_a1,
            world.class_a2,
        )
    }
    assert page_events
    for event in page_events:
        assert event.school_id == world.school_a.pk or (
            event.school_id is None
            and event.object_type == "orgs.orgunit"
            and event.object_id in district_units
        ), event
    seen = {e.seq for e in page_events}
    assert (
        AuditEvent.objects.get(object_type="orgs.orgunit", object_id=str(world.district_a.pk)).seq
        in seen
    )
    assert not AuditEvent.objects.filter(seq__in=seen, school_id=world.school_b.pk).exists()
    # Another district's school is not even a valid search.
    other = client.get(reverse(LIST), {"school": world.school_b.school_code})
    assert other.context["form"].errors["school"]
    # And the export follows the same scope.
    rows = export_rows(client.get(reverse(EXPORT)))
    assert {int(r[0]) for r in rows[1:]} == seen


def test_city_auditor_sees_everything(world, client_for):
    client = client_for(world.auditor)
    rows = export_rows(client.get(reverse(EXPORT)))
    assert len(rows) - 1 == AuditEvent.objects.count() - 1  # all but the export's own event


# --- exports -------------------------------------------------------------------------------------
def test_csv_export_follows_the_filter_and_is_audited(world, client_for):
    record_event(
        actor=world.psych,
        action="people.student.viewed",
        obj=world.stu_a1,
        fields={"read": ["id_number"], "note": "王小明"},
    )
    client = client_for(world.auditor)
    response = client.get(reverse(EXPORT), {"action": "people.student.viewed", "format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = export_rows(response)
    assert len(rows) == 2
    assert len(rows[0]) == 13
    event = AuditEvent.objects.get(action="people.student.viewed")
    assert rows[1][0] == str(event.seq)
    assert rows[1][2] == "psych_a"
    assert "王小明" in rows[1][10]
    assert rows[1][12] == event.hash
    exported = AuditEvent.objects.order_by("-seq").first()
    assert exported.action == "audit.log.exported"
    assert exported.actor_id == world.auditor.pk
    assert exported.fields["format"] == "csv"
    assert exported.fields["filters"] == {"action": "people.student.viewed"}
    assert verify_chain()[0]


def test_export_walks_keyset_chunks(world):
    for number in range(1, 31):
        record_event(actor=world.psych, action="test.bulk.done", object_id=number)
    principal = principal_for(world.auditor)
    filters = EventFilter(action="test.bulk")
    chunked = [e.object_id for e in iter_events(principal=principal, filters=filters, chunk=7)]
    assert chunked == [str(n) for n in range(30, 0, -1)]
    pinned = iter_events(
        principal=principal,
        filters=filters,
        up_to=AuditEvent.objects.get(action="test.bulk.done", object_id="10").seq,
        chunk=4,
    )
    assert [e.object_id for e in pinned] == [str(n) for n in range(10, 0, -1)]


def test_xlsx_export(world, client_for):
    client = client_for(world.auditor)
    response = client.get(
        reverse(EXPORT), {"actor": "", "format": "xlsx", "school": world.school_a.school_code}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    body = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0].startswith(f"Exported by: {world.auditor.get_full_name()}")
    assert f"（{world.auditor.username}）" in rows[0][0]
    assert rows[1][0] == "Sequence"
    expected = AuditEvent.objects.filter(school_id=world.school_a.pk).order_by("-seq")
    assert [int(r[0]) for r in rows[2:]] == [e.seq for e in expected]
    properties = openpyxl.load_workbook(io.BytesIO(body)).properties
    assert properties.creator == f"{world.auditor.get_full_name()}（{world.auditor.username}）"
    exported = AuditEvent.objects.order_by("-seq").first()
    assert exported.action == "audit.log.exported"
    assert exported.fields["filters"] == {"school": world.school_a.pk}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_runs_no_formula(world, client_for, fmt):
    """CSV injection: a text that a spreadsheet would run is written as text."""
    record_event(actor=world.psych, action="test.formula.seen", object_id='=HYPERLINK("x")')
    response = client_for(world.auditor).get(
        reverse(EXPORT), {"action": "test.formula", "format": fmt}
    )

    if fmt == "csv":
        assert export_rows(response)[1][6] == '\'=HYPERLINK("x")'  # shown as text
    else:
        body = b"".join(response.streaming_content)
        cell = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0].cell(row=3, column=7)
        assert cell.data_type == "s"  # a string cell, not a formula
        assert cell.value == '=HYPERLINK("x")'


def test_export_refuses_bad_requests(world, client_for):
    client = client_for(world.auditor)
    count = AuditEvent.objects.count()
    assert client.get(reverse(EXPORT), {"format": "pdf"}).status_code == 400
    assert client.get(reverse(EXPORT), {"date_from": "yesterday"}).status_code == 400
    assert AuditEvent.objects.count() == count
