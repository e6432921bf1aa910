"""Results: psychology teacher of the school only; critical first; XLSX export audited;
district/city aggregates with small cells suppressed; the student archive (T3)."""

from __future__ import annotations

import datetime
import io
import json
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.urls import reverse
from openpyxl import load_workbook

from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.instruments.labels import instrument_name, score_label
from xinqiao.people.services import create_student
from xinqiao.screening import selectors, services
from xinqiao.screening.models import AnswerDraft, Assignment, Response
from xinqiao.screening.views import archive_context

from .test_campaign import answer, make_campaign

pytestmark = pytest.mark.django_db


def _a(world, student, campaign=None):
    return Assignment.objects.get(
        campaign=campaign or world.campaign, student=student, resit_of=None
    )


def _results_url(world, name="results", school=None):
    return reverse(
        f"screening:{name}",
        kwargs={"code": world.campaign.code, "school": (school or world.school_a).code},
    )


def test_results_page_critical_first(world, client_for):
    answer(_a(world, world.stu_a1))
    answer(_a(world, world.stu_a2), {"ASQ": {"2": 1}, "PHQ-A": {"1": 3, "2": 3, "3": 2}})
    rows = selectors.school_results(principal_for(world.psych), world.campaign, world.school_a)
    assert [r.student for r in rows] == [world.stu_a2, world.stu_a1]
    assert rows[0].critical == [("ASQ", ["2"])]
    html = client_for(world.psych).get(_results_url(world)).content.decode()
    assert html.index(world.stu_a2.name) < html.index(world.stu_a1.name)
    assert "table-danger" in html
    assert "PHQ-A" in html
    assert AuditEvent.objects.filter(action="screening.results.viewed").exists()


RAW_CODES = ("asq_result", "non_acute_positive", "too_fast", "positive", "severe", "moderate")


def test_results_and_export_show_labels_not_codes_in_chinese(world, client_for, settings):
    """A teacher reads 阳性 / 作答过快 / ASQ 筛查结果, never `non_acute_positive` or `too_fast`."""
    settings.LANGUAGE_CODE = "zh-hans"
    answer(_a(world, world.stu_a1), seconds=0.1)  # too fast: invalid
    answer(_a(world, world.stu_a2), {"ASQ": {"2": 1}, "PHQ-A": {"1": 3, "2": 3, "3": 2}})
    client = client_for(world.psych)
    html = client.get(_results_url(world), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    table = html[html.index('data-testid="results"') :]
    for code in RAW_CODES:
        assert code not in table, code
    assert "作答过快" in table
    assert "ASQ 筛查结果" in table
    assert "第 2 题" in table
    export = client.get(_results_url(world, "results-export"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    cells = [
        str(c.value)
        for row in load_workbook(io.BytesIO(export.content)).active.iter_rows()
        for c in row
        if c.value is not None
    ]
    for code in RAW_CODES:
        assert not any(code in cell for cell in cells), code
    assert any("作答过快" in cell for cell in cells)


def test_invalid_questionnaires_listed_for_resit(world, client_for):
    answer(_a(world, world.stu_a1), seconds=0.1)
    html = client_for(world.psych).get(_results_url(world)).content.decode()
    assert "re-sat" in html or "重测" in html
    assert "Assign a re-sit" in html or "重测" in html


def test_results_scope(world, client_for):
    url = _results_url(world)
    assert client_for(world.psych_b).get(url).status_code == 404
    assert client_for(world.head_teacher).get(url).status_code == 403
    assert client_for(world.school_admin).get(url).status_code == 403
    assert client_for(world.district_admin).get(url).status_code == 403
    # A psychology teacher asking for another school's results under their own campaign.
    other = _results_url(world, school=world.school_b)
    assert client_for(world.psych).get(other).status_code == 404


def test_export_is_audited_and_complete(world, client_for):
    answer(_a(world, world.stu_a1), {"GAD-7": {"1": 2}})
    response = client_for(world.psych).get(_results_url(world, "results-export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0].startswith(f"Exported by: {world.psych.get_full_name()}")  # watermark
    assert values[2][0] == world.stu_a1.student_number
    header = f"{instrument_name('GAD-7')} {score_label('GAD-7', 'total')}"
    assert header in values[1]
    assert values[2][values[1].index(header)] == 2
    event = AuditEvent.objects.get(action="screening.results.exported")
    assert event.actor_id == world.psych.pk
    assert event.school_id == world.school_a.pk
    assert event.fields["rows"] == 1
    assert client_for(world.psych_b).get(_results_url(world, "results-export")).status_code == 404
    assert (
        client_for(world.head_teacher).get(_results_url(world, "results-export")).status_code == 403
    )
    assert AuditEvent.objects.filter(action="screening.results.exported").count() == 1


# --- aggregates --------------------------------------------------------------------------------


def _school_students(world, n, cls):
    out = []
    for i in range(n):
        out.append(
            create_student(
                actor=None,
                student_number=f"G36010220130601{i:04d}",
                name=f"学生{i}",
                gender="M",
                birth_date=datetime.date(2013, 6, 1),
                school_class=cls,
                term=world.term,
            )
        )
    return out


def test_district_sees_aggregates_with_small_cells_suppressed(world, client_for):
    campaign = make_campaign(world, owner=world.city, actor=world.city_admin, name="全市普查")
    extra = _school_students(world, 7, world.class_a1)
    services.open_campaign(actor=world.city_admin, campaign=campaign)
    # School A: 7 minimal + 2 mild on PHQ-A; school B: 1 student.
    for student in extra:
        answer(_a(world, student, campaign))
    for student in (world.stu_a1, world.stu_a2):
        answer(_a(world, student, campaign), {"PHQ-A": {"1": 3, "2": 3}})
    answer(_a(world, world.stu_b1, campaign))
    tables = selectors.aggregates(principal_for(world.district_admin), campaign, by="school")
    phq = next(t for t in tables if t.instrument == "PHQ-A")
    [row] = phq.rows  # district A only: school B is outside the district admin's area
    assert row["unit"] == world.school_a
    assert row["n"] == 9
    assert row["mild"] is None
    assert row["minimal"] is None
    url = reverse("screening:campaign-aggregates", kwargs={"code": campaign.code})
    html = client_for(world.district_admin).get(url + "?by=school").content.decode()
    assert "data-hidden-cell" in html
    assert world.school_b.name not in html
    assert world.stu_a1.name not in html
    city = selectors.aggregates(principal_for(world.city_admin), campaign, by="district")
    phq = next(t for t in city if t.instrument == "PHQ-A")
    by_unit = {r["unit"]: r for r in phq.rows}
    assert by_unit[world.district_b]["n"] is None  # one respondent: nothing of the row is shown
    assert by_unit[world.district_b]["minimal"] is None


def _phq_table(html: str) -> str:
    start = html.index('data-testid="aggregate-PHQ-A"')
    return html[start : html.index("</table>", start)]


@pytest.mark.parametrize("by", ["school", "district"])
def test_one_respondent_tells_the_school_admin_nothing(world, client_for, by):
    """Issue 13: with one respondent, "1 · <5 0 0 0 <5" told a school admin, who may not see that
    student's result, that the student was "severe". Now the row shows nothing, and the page is
    the same whichever band the student is in."""
    url = reverse("screening:campaign-aggregates", kwargs={"code": world.campaign.code})
    client = client_for(world.school_admin)
    assert client.get(url).status_code == 200  # the school admin reads the aggregates …
    assert client.get(_results_url(world)).status_code in (403, 404)  # … not the results
    pages = []
    for overrides in ({}, {"PHQ-A": dict.fromkeys([str(i) for i in range(1, 10)], 3)}):
        Assignment.objects.filter(campaign=world.campaign).update(status="assigned")
        Response.objects.filter(assignment__campaign=world.campaign).delete()
        AnswerDraft.objects.filter(assignment__campaign=world.campaign).delete()
        answer(_a(world, world.stu_a1), overrides)
        response = client.get(f"{url}?by={by}")
        assert response.status_code == 200
        (table,) = [t for t in response.context["tables"] if t.instrument == "PHQ-A"]
        (row,) = table.rows
        assert row["n"] is None
        assert row["cells"] == [None] * len(table.bands)
        assert table.total["n"] is None
        assert table.total["cells"] == [None] * len(table.bands)
        pages.append(_phq_table(response.content.decode()))
    assert pages[0] == pages[1]
    assert re.search(r'<td class="text-end">\s*\d', pages[0]) is None  # no count at all


# --- student archive ---------------------------------------------------------------------------


def test_student_archive_trends(world):
    answer(_a(world, world.stu_a1), {"PHQ-A": {"1": 1}})
    later = make_campaign(world, name="期中复查", kind="exam_season")
    services.open_campaign(actor=world.psych, campaign=later)
    answer(_a(world, world.stu_a1, later), {"PHQ-A": {"1": 3, "2": 3}})
    entries = selectors.list_responses_for_student(
        principal=principal_for(world.psych), student=world.stu_a1
    )
    phq = [e for e in entries if e.response.instrument_code == "PHQ-A"]
    assert [e.value for e in phq] == [1, 6]
    context = archive_context(principal=principal_for(world.psych), student=world.stu_a1)
    trends = json.loads(context["archive_trends"])
    assert {s["name"] for s in trends["series"]} == {"PHQ-A", "GAD-7", "ASQ"}
    html = render_to_string("screening/_student_archive.html", context)
    assert "data-screening-trend" in html
    assert "<script>" not in html
    assert "style=" not in html
    assert "xinqiao/screening.js" in html


def test_student_archive_is_t3(world):
    with pytest.raises(PermissionDenied):
        selectors.list_responses_for_student(
            principal=principal_for(world.head_teacher), student=world.stu_a1
        )
    with pytest.raises(PermissionDenied):
        selectors.list_responses_for_student(
            principal=principal_for(world.psych_b), student=world.stu_a1
        )


def test_export_never_writes_formulas(world, client_for):
    world.stu_a1.name = '=HYPERLINK("http://x.example","点我")'
    world.stu_a1.save(update_fields=["name"])
    answer(_a(world, world.stu_a1))
    response = client_for(world.psych).get(_results_url(world, "results-export"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    cell = sheet.cell(row=3, column=2)
    assert cell.data_type == "s"
    assert cell.value == world.stu_a1.name
