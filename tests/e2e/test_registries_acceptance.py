"""Acceptance of issue 14 ("Done when"), walked through the UI in Chromium.

A school admin, a district admin and the city admin each enter and import the registries of their
scope in the browser (clicks, form fills, real CSV/XLSX/PDF/PNG files uploaded from tmp_path), and
the indicators show the figures the entered data implies:

- the 1 : 800 psychology-teacher ratio of a school of 801 enrolled students (2 needed, at least
  one full-time) and of a small school covered by a station;
- training completion per teacher category of the school year;
- the class committee's one-boy-one-girl warning, and the three school groups' gaps on the school
  page and on the district's list of schools with gaps;
- the district's monthly research-activity indicator.

Imports: the school's staff (GBK CSV) and training (XLSX) by the school admin; the district's
station counsellor and research teacher (UTF-8 CSV) by the district admin; staff of schools of both
districts (GB18030 CSV) by the city admin — each with a row outside the uploader's area refused
where there is one. The registries' bulk imports (`/import/registry/<kind>/`), each reached by the
list page's "批量导入" link, run once as a dry run that writes nothing, then for real, with the
counts checked, a refused row's reason read from the downloaded error report and the effect seen
on the pages: the school admin imports its counselling room (XLSX), the three school groups (GBK;
the groups' gaps disappear) and the class committees (UTF-8; a girl alone gets a warning, not a
refusal); the district admin research activities (GBK; the month turns met) and crisis-team
members (UTF-8 with BOM); the city admin experts of the city's and a district's pool (XLSX).

Every 5xx response the browser sees fails the test; the filled pages must fit a 390 px phone.

The world is built with tests/factories.py (no demo generator): 示例市 with 甲区 (甲区第一中学,
801 students; 甲区希望小学, 5 students; 甲区辅导站) and 乙区 (乙区第二中学); the city, 甲区 and
甲区第一中学 administrators; the school's principal (a staff record without an account).
"""

from __future__ import annotations

import base64
import csv
import datetime
import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from xinqiao.facilities.checklist import current_items
from xinqiao.people.models import Position
from xinqiao.people.staffing.services import create_staff_record

from ..factories import (
    PASSWORD,
    ClassFactory,
    GradeFactory,
    SchoolFactory,
    StationFactory,
    StudentFactory,
    id_number,
    two_schools,
    with_personas,
)
from .conftest import DESKTOP, no_horizontal_overflow, sign_in

pytestmark = [pytest.mark.e2e]

PHONE_390 = {"width": 390, "height": 844}

# A 1×1 PNG (the checklist's evidence photo) and a minimal PDF (the emergency plan document).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def city(db):
    """Two districts, three schools and a station, built through the services (in one
    transaction: the live server's database commits every statement otherwise)."""
    with transaction.atomic():
        return _city()


def _city() -> SimpleNamespace:
    w = with_personas(two_schools(), "city_admin", "district_admin", "school_admin")
    # 甲区第一中学: 801 enrolled students (the four below, 797 in 七(3)班) → 2 needed.
    w.class_a3 = ClassFactory(parent=w.grade_a7, name="七(3)班")
    for n in range(797):
        StudentFactory(school_class=w.class_a3, term=w.term, id_number=id_number(100 + n))
    # A girl and another boy in 七(1)班 for the committee.
    w.girl_a1 = StudentFactory(
        school_class=w.class_a1,
        term=w.term,
        name="周小丽",
        gender="F",
        id_number=id_number(11, birth=datetime.date(2013, 4, 4)),
    )
    w.boy_a1 = StudentFactory(
        school_class=w.class_a1,
        term=w.term,
        name="刘小强",
        gender="M",
        id_number=id_number(12, birth=datetime.date(2013, 5, 5)),
    )
    # A small school of 甲区 (5 students, no psychology teacher of its own) and the station.
    w.small = SchoolFactory(
        parent=w.district_a, name="甲区希望小学", stage="primary", student_count=5
    )
    small_class = ClassFactory(parent=GradeFactory(parent=w.small, grade_level=5, name="五年级"))
    for n in range(5):
        StudentFactory(
            school_class=small_class,
            term=w.term,
            id_number=id_number(n, birth=datetime.date(2015, 6, 6)),
        )
    w.station = StationFactory(parent=w.district_a, name="甲区辅导站")
    # The principal, who leads the leadership group (a staff record, no account).
    w.principal = create_staff_record(
        actor=None,
        name="王校长",
        org_unit=w.school_a,
        gender="M",
        positions=[(Position.PRINCIPAL, None, datetime.date(2020, 9, 1))],
    )
    return w


# --- helpers -------------------------------------------------------------------------------------


class ServerErrors:
    """Every response of 500 or more the browser saw; the test asserts there were none."""

    def __init__(self, page: Any) -> None:
        self.seen: list[str] = []
        page.on("response", lambda r: r.status >= 500 and self.seen.append(f"{r.status} {r.url}"))


def _context(browser: Any, live_server: Any, username: str) -> tuple[Any, Any, ServerErrors]:
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = ServerErrors(page)
    sign_in(page, username, PASSWORD)
    return context, page, errors


def _submit(form: Any) -> None:
    """Click the form's submit button and wait for the page it leads to."""
    with form.page.expect_navigation():
        form.locator("button[type=submit]").last.click()


def _fill(form: Any, **values: str) -> None:
    """Fill fields by name: a select gets the option of that value, anything else the text."""
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def _upload(
    page: Any, kind: str, path: Any, *, dry_run: bool = False, link: str | None = None
) -> Any:
    """Upload a file on a registry's import page — reached by the current page's `link` (the
    list page's "批量导入") or else by its URL — as a dry run or for real; wait until the job is
    done; its progress."""
    if link:
        page.get_by_test_id(link).click()
        expect(page).to_have_url(re.compile(re.escape(reverse("registries:upload", args=[kind]))))
    else:
        page.goto(reverse("registries:upload", args=[kind]))
    form = page.locator("form:has(input[type=file])")
    form.locator("input[name=file]").set_input_files(str(path))
    if dry_run:
        form.locator("input[name=dry_run]").check()
    _submit(form)
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_have_attribute("data-status", re.compile("succeeded|failed"))
    return progress


def _counts(progress: Any) -> dict[str, str]:
    return {
        key: progress.locator(f"[data-count={key}]").inner_text()
        for key in ("created", "updated", "unchanged", "rejected")
    }


def _dry_run_then_import(page: Any, kind: str, path: Any, link: str, before: Any) -> Any:
    """From the registry's list page: its "批量导入" link, a dry run of the file, which writes
    nothing (`before()` still holds), then the import itself, counting as the dry run did."""
    dry = _counts(_upload(page, kind, path, dry_run=True, link=link))
    expect(page.get_by_test_id("import-progress")).to_contain_text("试运行")
    before()
    progress = _upload(page, kind, path)
    assert _counts(progress) == dry
    return progress


def _report(page: Any) -> dict[str, list[str]]:
    """The job's error report, downloaded from its page: the lines by row number (行号, 列,
    原因, the cells), after the downloader's watermark and the header."""
    with page.expect_download() as download:
        page.get_by_test_id("error-report").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    return {line[0]: line for line in csv.reader(io.StringIO(text)) if line and line[0].isdigit()}


def _ratio_row(page: Any, school: Any) -> list[str]:
    """The ratio table's cells of a school: students, full-time, part-time, needed, badge."""
    page.goto(reverse("people:staff-list"))
    row = page.get_by_test_id("psychology-ratio").locator("tr", has_text=school.name)
    return [c.strip() for c in row.locator("td").all_inner_texts()[1:]]


# --- the school admin ----------------------------------------------------------------------------


def test_school_admin_enters_and_imports_staff_and_training(browser, live_server, city, tmp_path):
    w = city
    context, page, errors = _context(browser, live_server, "school_admin_a")

    # 801 students, nobody teaching psychology yet: 2 needed, below the ratio.
    assert _ratio_row(page, w.school_a) == ["801", "0", "0", "2", "未达配比"]

    # A full-time psychology teacher with a qualification, invited to an account.
    page.get_by_test_id("staff-add-link").click()
    form = page.get_by_test_id("staff-form")
    _fill(
        form,
        name="张心怡",
        gender="F",
        staff_number="T001",
        phone="13900000001",
        position=Position.PSYCHOLOGY_TEACHER_FULL,
        start_date="2026-09-01",
    )
    _submit(form)
    expect(page.get_by_role("heading", level=1)).to_have_text("张心怡")
    expect(page.get_by_test_id("positions")).to_contain_text("专职心理教师")
    staff_url = page.url

    page.locator("summary", has_text="添加资质").click()
    form = page.get_by_test_id("qualification-form")
    _fill(form, kind="mhe_certificate_b", title="心理健康教育教师资格证", number="XL-2024-0815")
    _submit(form)
    expect(page.get_by_test_id("qualifications")).to_contain_text("XL-2024-0815")

    form = page.get_by_test_id("invite-form")
    _fill(form, role="psychology_teacher")
    _submit(form)
    link = page.get_by_test_id("invitation-link").inner_text()
    newcomer = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    invited = newcomer.new_page()
    invited.goto(link)
    _fill(invited.locator("form"), username="zhangxinyi")
    for field in invited.locator("input[type=password]").all():
        field.fill("Xinqiao-Heart-2026!")
    _submit(invited.locator("form"))
    newcomer.close()
    page.goto(staff_url)
    expect(page.get_by_test_id("staff-record")).to_contain_text("zhangxinyi")

    # The staff spreadsheet (GBK, Chinese headers): three new people, one row of another district.
    staff_csv = tmp_path / "教职工名册.csv"
    staff_csv.write_bytes(
        "\r\n".join(
            [
                "工号,姓名,性别,学校名称,岗位,专兼职,任职日期,资质,手机号码",
                "T002,李兼职,女,甲区第一中学,兼职心理教师,兼职,2026-09-01,C证,13900000002",
                "T003,陈班主任,女,甲区第一中学,班主任,,2026-09-01,,13900000003",
                "T004,赵老师,男,甲区第一中学,科任教师,,2026-09-01,,",
                "T005,钱老师,男,乙区第二中学,科任教师,,2026-09-01,,",
            ]
        ).encode("gbk")
    )
    progress = _upload(page, "staff", staff_csv)
    assert _counts(progress) == {"created": "3", "updated": "0", "unchanged": "0", "rejected": "1"}
    # Once more: nothing changes (the natural key is the unit + 工号).
    progress = _upload(page, "staff", staff_csv)
    assert _counts(progress)["unchanged"] == "3"

    # One full-time and one part-time teacher for 801 students: 2 of 2, at least one full-time.
    assert _ratio_row(page, w.school_a) == ["801", "1", "1", "2", ""]

    # Training: 36 hours entered by hand, the rest from the training platform's export (XLSX).
    page.goto(reverse("workforce:training-summary") + f"?unit={w.school_a.code}")
    teachers = page.get_by_test_id("teacher-table")
    # The school admin, 张心怡, 李兼职, 陈班主任, 赵老师 and the principal, none trained yet.
    expect(teachers.locator("tr[data-staff]")).to_have_count(6)
    expect(page.get_by_test_id("training-tally")).to_contain_text("0 / 6")
    teachers.get_by_role("link", name="张心怡").click()
    page.locator(f"a[href$='{_training_add(page)}']").first.click()
    form = page.locator("form:has([name=course])")
    _fill(
        form,
        course="心理危机干预专题培训",
        provider="市未成年人心理健康辅导中心",
        start_date="2026-10-10",
        end_date="2026-10-14",
        hours="36",
        level="city",
        mode="offline",
    )
    _submit(form)
    expect(page.locator("body")).to_contain_text("心理危机干预专题培训")

    export = tmp_path / "培训平台导出.xlsx"
    _xlsx(
        export,
        [
            "姓名,学校名称,培训名称,培训机构,开始日期,结束日期,学时,培训级别,培训形式",
            "张心怡,甲区第一中学,团体心理辅导,省教育厅,2026-11-02,2026-11-03,6,省级,线上",
            "陈班主任,甲区第一中学,班主任心理健康教育能力提升,区教师发展中心,2026-10-20,,12,区级,线下",
            "李兼职,甲区第一中学,心理健康教育通识,学校,2026-09-15,,2,校级,线下",
            "无此人,甲区第一中学,心理健康教育通识,学校,2026-09-15,,2,校级,线下",
        ],
    )
    progress = _upload(page, "training", export)
    assert _counts(progress) == {"created": "3", "updated": "0", "unchanged": "0", "rejected": "1"}

    # 张心怡 42 h ≥ 40, 陈班主任 12 h ≥ 10, 李兼职 one course; 赵老师, the principal and the admin
    # none: 3 of 6 teachers, per category full-time 1/1, head teachers 1/1, others 1/4.
    page.goto(reverse("workforce:training-summary") + f"?unit={w.school_a.code}")
    tally = page.get_by_test_id("training-tally")
    expect(tally.locator("[data-share]")).to_have_text("50 %")
    assert [t.split("\n")[-1] for t in tally.locator(".card").all_inner_texts()] == [
        "3 / 6",
        "1 / 1",
        "1 / 1",
        "1 / 4",
    ]
    row = page.get_by_test_id("teacher-table").locator("tr", has_text="张心怡")
    expect(row.locator("td").nth(2)).to_have_text("42.0")
    expect(row.locator("[data-met]")).to_have_count(1)

    # The counselling room from the school's facilities sheet (XLSX): its own row goes in, a
    # row of 乙区第二中学 is refused without revealing it; the status is not imported.
    room_url = reverse("facilities:room-detail", kwargs={"code": w.school_a.code})
    rooms = tmp_path / "心理辅导室.xlsx"
    _xlsx(
        rooms,
        [
            "单位名称,辅导室位置,面积（平方米）,功能室,设备,开放时间,状态",
            "甲区第一中学,综合楼三楼 301–305,96㎡,个体辅导室2间30㎡、团体辅导室1间50㎡,"
            "沙盘一套；放松椅两把,周一至周五 12:00–13:30,示范",
            "乙区第二中学,教学楼一楼,40,个体辅导室,,,",
        ],
    )
    page.goto(reverse("facilities:room-list"))

    def no_room_yet() -> None:
        page.goto(room_url)
        expect(page.get_by_test_id("no-room")).to_be_visible()
        page.goto(reverse("facilities:room-list"))

    progress = _dry_run_then_import(page, "rooms", rooms, "rooms-import-link", no_room_yet)
    assert _counts(progress) == {"created": "1", "updated": "0", "unchanged": "0", "rejected": "1"}
    assert _report(page)["3"][2] == "您的管辖范围内没有名为 乙区第二中学 的单位。"
    page.goto(reverse("facilities:room-list"))
    listed = page.get_by_test_id("rooms").locator(f"tr[data-unit='{w.school_a.code}']")
    expect(listed.locator("td").last).to_have_text("96.0")
    expect(listed).to_contain_text("未达标")
    listed.get_by_role("link", name=w.school_a.name).click()
    expect(page.locator("main")).to_contain_text("综合楼三楼 301–305")
    expect(page.get_by_test_id("areas")).to_contain_text("× 2")

    # The three school groups from a GBK sheet: missing at first, none after; 钱老师 (of the
    # other district, refused by the staff import) is not a staff member of the school.
    school_url = reverse("orgs:unit-detail", kwargs={"code": w.school_a.code})
    page.goto(school_url)
    groups = page.get_by_test_id("school-groups")
    expect(groups.locator("[data-gap]")).to_have_count(3)
    groups_csv = tmp_path / "心理健康教育三个小组.csv"
    groups_csv.write_bytes(
        "\r\n".join(
            [
                "学校名称,小组,姓名,组内职务,分工,起始日期",
                "甲区第一中学,领导小组,王校长,组长,全面负责,2026-09-01",
                "甲区第一中学,工作小组,张心怡,组长,统筹心理健康教育,2026-09-01",
                "甲区第一中学,危机干预小组,陈班主任,组长,,2026-09-01",
                "甲区第一中学,危机干预小组,张心怡,成员,个案评估,2026-09-01",
                "甲区第一中学,危机干预小组,钱老师,成员,,2026-09-01",
            ]
        ).encode("gbk")
    )
    page.get_by_test_id("manage-groups").click()

    def groups_still_missing() -> None:
        page.goto(school_url)
        expect(groups.locator("[data-gap]")).to_have_count(3)
        page.get_by_test_id("manage-groups").click()

    progress = _dry_run_then_import(
        page, "school_group_members", groups_csv, "group-import-link", groups_still_missing
    )
    assert _counts(progress) == {"created": "4", "updated": "0", "unchanged": "0", "rejected": "1"}
    assert "钱老师" in _report(page)["6"][2]
    groups_job_url = page.url
    # Once more: nothing changes (the natural key is the school + group + staff member).
    progress = _upload(page, "school_group_members", groups_csv)
    assert _counts(progress) == {"created": "0", "updated": "0", "unchanged": "4", "rejected": "1"}
    page.goto(school_url)
    expect(groups.locator("[data-gap]")).to_have_count(0)
    expect(groups.locator("[data-group=leadership]")).to_contain_text("王校长")
    expect(groups.locator("[data-group=crisis]")).to_contain_text("陈班主任")
    expect(groups.locator("[data-group=crisis]")).to_contain_text("张心怡")

    # The class committees (UTF-8 CSV): a boy and a girl for 七(1)班; a girl alone for 七(2)班,
    # imported with a warning; a student of 乙区 is not found in the school's area.
    committee_url = reverse("people:committee", kwargs={"code": w.class_a1.code})
    committee_csv = tmp_path / "心理委员.csv"
    committee_csv.write_text(
        "全国学籍号,学生姓名,任职日期\n"
        f"{w.stu_a1.student_number},{w.stu_a1.name},2026-09-01\n"
        f"{w.girl_a1.student_number},{w.girl_a1.name},2026-09-01\n"
        f"{w.stu_a2.student_number},{w.stu_a2.name},2026-09-01\n"
        f"{w.stu_b1.student_number},{w.stu_b1.name},2026-09-01\n",
        encoding="utf-8",
    )
    nobody = page.get_by_test_id("committee-current").locator("td[colspan]")  # "本学期暂无…"
    page.goto(committee_url)
    expect(nobody).to_have_count(1)

    def nobody_appointed() -> None:
        page.goto(committee_url)
        expect(nobody).to_have_count(1)

    progress = _dry_run_then_import(
        page, "committee_members", committee_csv, "committee-import-link", nobody_appointed
    )
    assert _counts(progress) == {"created": "3", "updated": "0", "unchanged": "0", "rejected": "1"}
    report = _report(page)
    assert report["4"][2].startswith("提醒：七(2)班")
    assert w.stu_b1.name not in report["5"][2]
    progress = _upload(page, "committee_members", committee_csv)
    assert _counts(progress) == {"created": "0", "updated": "0", "unchanged": "3", "rejected": "1"}
    rooms_again = _upload(page, "rooms", rooms)
    assert _counts(rooms_again) == {
        "created": "0",
        "updated": "0",
        "unchanged": "1",
        "rejected": "1",
    }
    page.goto(committee_url)
    current = page.get_by_test_id("committee-current")
    expect(current.locator("tbody tr")).to_have_count(2)
    expect(current).to_contain_text(w.girl_a1.name)
    expect(page.get_by_test_id("committee-warning")).to_have_count(0)
    # The imported girl got an account without a name: her sign-in slip prints from the page.
    with page.expect_navigation():
        current.locator("tr", has_text=w.girl_a1.name).get_by_role(
            "button", name="打印登录码"
        ).click()
    expect(page.get_by_test_id("slip-code")).to_be_visible()
    page.goto(reverse("people:committee", kwargs={"code": w.class_a2.code}))
    expect(page.get_by_test_id("committee-warning")).to_contain_text("男生 0 名，女生 1 名")

    _usable_on_a_phone(
        page,
        staff_url,
        reverse("people:staff-list"),
        reverse("workforce:training-summary") + f"?unit={w.school_a.code}",
        room_url,
        reverse("people:school-groups", kwargs={"code": w.school_a.code}),
        committee_url,
        reverse("registries:upload", args=["school_group_members"]),
        groups_job_url,
    )
    assert errors.seen == []
    context.close()


def _usable_on_a_phone(page: Any, *urls: str) -> None:
    """The pages, filled with what the test entered, fit a 390 px wide phone."""
    page.set_viewport_size(PHONE_390)
    for url in urls:
        page.goto(url)
        assert no_horizontal_overflow(page), url
    page.set_viewport_size(DESKTOP)


def _training_add(page: Any) -> str:
    code = page.url.rstrip("/").rsplit("/", 1)[-1]
    return reverse("workforce:training-create", kwargs={"code": code})


def _xlsx(path: Any, lines: list[str]) -> None:
    """An Excel workbook of comma-separated lines (the first is the header)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in lines:
        sheet.append(line.split(","))
    book.save(path)


def test_school_admin_keeps_the_committee_groups_families_and_room(
    browser, live_server, city, tmp_path
):
    w = city
    context, page, errors = _context(browser, live_server, "school_admin_a")

    # The class committee of 七(1)班: a boy alone breaks the pair, a girl completes it, replacing
    # the girl by a boy breaks it again — a warning with the counts, never a crash.
    committee_url = reverse("people:committee", kwargs={"code": w.class_a1.code})
    warning = page.get_by_test_id("committee-warning")

    def appoint(student: Any) -> None:
        page.goto(committee_url)
        form = page.get_by_test_id("committee-form")
        _fill(form, student=str(student.pk))
        _submit(form)
        # The printable one-time code of the committee member's account, shown once.
        expect(page.get_by_test_id("slip-code")).to_be_visible()
        page.goto(committee_url)

    appoint(w.stu_a1)
    expect(warning).to_contain_text("男生 1 名，女生 0 名")
    appoint(w.girl_a1)
    expect(page.get_by_test_id("committee-current").locator("tbody tr")).to_have_count(2)
    expect(warning).to_have_count(0)
    girl_row = page.get_by_test_id("committee-current").locator("tr", has_text=w.girl_a1.name)
    girl_row.locator("select[name=student]").select_option(str(w.boy_a1.pk))
    with page.expect_navigation():
        girl_row.get_by_role("button", name="更换", exact=True).click()
    page.goto(committee_url)
    expect(warning).to_contain_text("男生 2 名，女生 0 名")
    expect(page.get_by_test_id("committee-history")).to_contain_text(w.girl_a1.name)
    # The class page shows the same figures.
    page.goto(reverse("orgs:unit-detail", kwargs={"code": w.class_a1.code}))
    expect(page.get_by_test_id("committee")).to_contain_text(w.boy_a1.name)
    expect(page.get_by_test_id("committee-warning")).to_contain_text("男生 2 名，女生 0 名")

    # The three school groups: all missing at first; the principal leads the leadership group.
    school_url = reverse("orgs:unit-detail", kwargs={"code": w.school_a.code})
    page.goto(school_url)
    groups = page.get_by_test_id("school-groups")
    expect(groups.locator("[data-gap]")).to_have_count(3)
    page.get_by_test_id("manage-groups").click()

    def add(kind: str, staff: Any, role: str) -> Any:
        form = page.get_by_test_id("group-form")
        _fill(form, kind=kind, staff=str(staff.pk), role=role, start_date="2026-09-01")
        _submit(form)
        return page.get_by_test_id("school-groups").locator(f"[data-group={kind}]")

    # Led by someone who is not the principal: still a gap ("not led by the principal").
    leadership = add("leadership", w.school_admin.staff, "leader")
    expect(leadership.locator("[data-gap=leadership]")).to_have_text("组长不是校长。")
    # The principal takes the lead (the admin stays a member); the other two groups.
    leadership = add("leadership", w.principal, "leader")
    expect(leadership.locator("[data-gap]")).to_have_count(0)
    expect(add("work", w.school_admin.staff, "leader")).to_contain_text("甲校德育主任")
    crisis = add("crisis", w.school_admin.staff, "member")
    expect(crisis).to_contain_text("甲校德育主任")
    expect(crisis.locator(".badge")).to_have_text("成员")  # a group's 成员, not a team's 队员
    # Adding a member twice: a message on the form, not a crash.
    form = page.get_by_test_id("group-form")
    _fill(form, kind="leadership", staff=str(w.principal.pk), role="member")
    _submit(form)
    expect(form.locator("[data-error-for=staff]")).to_have_count(1)
    page.goto(school_url)
    expect(groups.locator("[data-gap]")).to_have_count(0)
    expect(groups.locator("[data-group=leadership]")).to_contain_text("王校长")

    # A guardian and a family circumstance of 王小明.
    page.goto(reverse("people:student-detail", kwargs={"code": w.stu_a1.code}))
    page.get_by_test_id("guardian-add").click()
    form = page.locator("form:has([name=relation])")
    _fill(form, relation="grandparent", name="王奶奶", phone="13912345678", start_date="2026-09-01")
    _submit(form)
    expect(page.get_by_test_id("guardians")).to_contain_text("王奶奶")
    page.get_by_test_id("circumstance-add").click()
    form = page.locator("form:has([name=kind])")
    _fill(
        form,
        kind="left_behind",
        source="head_teacher",
        start_date="2026-09-01",
        note="父母在外务工",
    )
    _submit(form)
    circumstances = page.get_by_test_id("circumstances")
    expect(circumstances).to_contain_text("留守儿童")
    expect(circumstances).to_contain_text("2026-09-01")

    # The counselling room: its facts, then the checklist (three items met, one with a photo,
    # one not met).
    page.goto(reverse("facilities:room-detail", kwargs={"code": w.school_a.code}))
    expect(page.get_by_test_id("no-room")).to_be_visible()
    page.goto(reverse("facilities:room-edit", kwargs={"code": w.school_a.code}))
    form = page.get_by_test_id("room-form")
    _fill(
        form,
        location="综合楼三楼 301–305",
        area_m2="96",
        opening_hours="周一至周五 12:00–13:30、16:30–17:30",
        equipment="沙盘一套\n放松椅两把",
        count_individual="2",
        area_individual="30",
        count_group="1",
        area_group="50",
    )
    _submit(form)
    expect(page.get_by_test_id("areas")).to_contain_text("× 2")
    page.goto(reverse("facilities:checklist", kwargs={"code": w.school_a.code}))
    form = page.get_by_test_id("checklist-form")
    items = [item.key for item in current_items()]
    for key in items[:3]:
        form.locator(f"input[name=met_{key}][value=yes]").check()
    form.locator(f"input[name=met_{items[3]}][value=no]").check()
    photo = tmp_path / "辅导室.png"
    photo.write_bytes(PNG)
    form.locator(f"input[name=photo_{items[0]}]").set_input_files(str(photo))
    _submit(form)
    expect(page.get_by_test_id("checklist-summary")).to_have_text(f"{len(items)} 项中已达 3 项")
    checklist = page.get_by_test_id("checklist")
    expect(checklist.locator(f"tr[data-item={items[0]}]").get_by_role("link")).to_have_count(1)
    expect(checklist.locator(f"tr[data-item={items[3]}]")).to_contain_text("否")

    # An edit form shows the dates it saved (a Chinese date format once left them empty).
    page.goto(reverse("people:student-detail", kwargs={"code": w.stu_a1.code}))
    page.get_by_test_id("guardians").get_by_role("link", name="编辑").click()
    expect(page.locator("input[name=start_date]")).to_have_value("2026-09-01")
    expect(page.locator("input[name=name]")).to_have_value("王奶奶")

    _usable_on_a_phone(
        page,
        committee_url,
        reverse("people:school-groups", kwargs={"code": w.school_a.code}),
        school_url,
        reverse("people:student-detail", kwargs={"code": w.stu_a1.code}),
        reverse("facilities:room-detail", kwargs={"code": w.school_a.code}),
    )
    assert errors.seen == []
    context.close()


# --- the district admin --------------------------------------------------------------------------


def test_district_admin_keeps_research_coverage_team_and_helplines(
    browser, live_server, city, tmp_path
):
    w = city
    context, page, errors = _context(browser, live_server, "district_admin_a")

    # This month's research activity of 甲区: due, then met once an activity is recorded.
    today = timezone.localdate()
    page.goto(reverse("workforce:research-indicator") + f"?unit={w.district_a.code}")
    indicator = page.get_by_test_id("research-indicator")
    months = indicator.locator("thead th").all_inner_texts()[1:-1]
    this_month = indicator.locator(f"tr[data-district='{w.district_a.code}'] td").nth(
        months.index(f"{today:%Y-%m}")
    )
    expect(this_month).to_have_attribute("data-state", "open")
    met_before = indicator.locator("[data-met]").inner_text()
    page.get_by_role("link", name="录入教研活动").click()
    form = page.locator("form:has([name=theme])")
    _fill(
        form,
        date=today.isoformat(),
        theme="初中生学业压力的团体辅导",
        organiser="甲区教师发展中心",
        notes="观摩课一节，评课研讨",
    )
    if form.locator("[name=district]").count():
        _fill(form, district=str(w.district_a.pk))
    # The participants through the picker: a search by name, then a tick per person (the
    # ticked ones stay while one searches on).
    box = form.locator("input[name=participants__q]")
    for staff in (w.principal, w.school_admin.staff):
        with page.expect_response(lambda r: "/pick/" in r.url and r.status == 200):
            box.fill(staff.name)
        form.locator(f"input[name=participants][value='{staff.code}']").check()
    _submit(form)
    expect(page.locator("body")).to_contain_text("王校长")
    page.goto(reverse("workforce:research-indicator") + f"?unit={w.district_a.code}")
    expect(this_month).to_have_attribute("data-state", "met")
    expect(this_month).to_have_text("1")
    # No activity in the months before (missed, counted as due); the month in progress counts
    # once it is met.
    met, due = (int(n) for n in met_before.split(" / "))
    assert met == 0
    expect(indicator.locator("[data-met]")).to_have_text(f"1 / {due + 1}")
    row = page.get_by_test_id("research-list").locator("tr", has_text="初中生学业压力的团体辅导")
    expect(row.locator("td").last).to_have_text("2")

    # The activities of another month from the district's own sheet (GBK CSV), through the
    # indicator's "批量导入": that month turns met; a row of 乙区 and one naming someone who is
    # not a staff member of 甲区 are refused with their reasons.
    other = months[1] if months[0] == f"{today:%Y-%m}" else months[0]
    other_month = indicator.locator(f"tr[data-district='{w.district_a.code}'] td").nth(
        months.index(other)
    )
    activities = tmp_path / "甲区教研活动.csv"
    activities.write_bytes(
        "\r\n".join(
            [
                "区县,活动日期,活动主题,主持人,参加人员,备注",
                f"甲区,{other}-15,班主任心理健康教育沙龙,甲区教师发展中心,"
                f"王校长、{w.school_admin.staff.name},",
                f"乙区,{other}-15,乙区的教研,乙区教研室,,",
                f"甲区,{other}-20,心理课观摩,甲区教师发展中心,王校长、无此人,",
            ]
        ).encode("gbk")
    )
    page.goto(reverse("workforce:research-indicator") + f"?unit={w.district_a.code}")
    expected_before = "missed" if other < f"{today:%Y-%m}" else "future"

    def month_not_met() -> None:
        page.goto(reverse("workforce:research-indicator") + f"?unit={w.district_a.code}")
        expect(other_month).to_have_attribute("data-state", expected_before)

    progress = _dry_run_then_import(
        page, "research_activities", activities, "research-import-link", month_not_met
    )
    assert _counts(progress) == {"created": "1", "updated": "0", "unchanged": "0", "rejected": "2"}
    report = _report(page)
    assert report["3"][2] == "您的管辖范围内没有名为 乙区 的单位。"
    assert "无此人" in report["4"][2]
    page.goto(reverse("workforce:research-indicator") + f"?unit={w.district_a.code}")
    expect(other_month).to_have_attribute("data-state", "met")
    expect(other_month).to_have_text("1")
    expect(indicator.locator("[data-met]")).to_have_text(
        f"2 / {due + 1 + (expected_before == 'future')}"
    )
    row = page.get_by_test_id("research-list").locator("tr", has_text="班主任心理健康教育沙龙")
    expect(row.locator("td").last).to_have_text("2")

    # The small school, no psychology teacher of its own: below the ratio until the station
    # covers it.
    assert _ratio_row(page, w.small) == ["5", "0", "0", "1", "未达配比"]
    page.goto(reverse("staff:coverage-add"))
    form = page.locator("form:has([name=supporter])")
    _fill(
        form,
        school=str(w.small.pk),
        supporter=str(w.station.pk),
        start_date="2026-09-01",
        note="辅导站每周二驻校",
    )
    _submit(form)
    covered = page.get_by_test_id("school-coverage").locator(f"tr[data-school='{w.small.code}']")
    expect(covered).to_contain_text("甲区辅导站")
    assert _ratio_row(page, w.small) == ["5", "0", "0", "1", ""]

    # The district's own staff spreadsheet (UTF-8 with BOM): a full-time station counsellor and
    # a research teacher (心理教研员) close the district's two gaps; a row of 乙区 is refused.
    page.goto(reverse("staff:coverage"))
    district = page.get_by_test_id("district-coverage").locator("tr", has_text="甲区辅导站")
    expect(district.locator("td")).to_have_text(["甲区", "甲区辅导站 (0)", "0", "未达标"])
    staff_csv = tmp_path / "甲区教研与辅导站人员.csv"
    staff_csv.write_text(
        "姓名,性别,所在单位,岗位\n孙辅导,女,甲区辅导站,辅导站专职人员\n周教研,男,甲区,心理教研员\n"
        "吴老师,男,乙区第二中学,科任教师\n",
        encoding="utf-8-sig",
    )
    progress = _upload(page, "staff", staff_csv)
    assert _counts(progress) == {"created": "2", "updated": "0", "unchanged": "0", "rejected": "1"}
    page.goto(reverse("staff:coverage"))
    expect(district.locator("td")).to_have_text(["甲区", "甲区辅导站 (1)", "1", ""])

    # The district's crisis-intervention team: made, its duty phone changed, a member added.
    page.goto(reverse("emergency:home"))
    page.get_by_role("link", name="新建甲区工作队").click()
    form = page.locator("form:has([name=duty_phone])")
    _fill(form, name="甲区心理危机干预工作队", duty_phone="0791-86000001")
    _submit(form)
    expect(page.get_by_test_id("duty-phone")).to_have_text("0791-86000001")
    page.get_by_role("link", name="编辑").click()
    form = page.locator("form:has([name=duty_phone])")
    _fill(form, duty_phone="0791-86000002")
    _submit(form)
    expect(page.get_by_test_id("duty-phone")).to_have_text("0791-86000002")
    page.get_by_role("link", name="添加成员").click()
    form = page.locator("form:has([name=role])")
    _fill(
        form, name="孙医生", organisation="市精神卫生中心", phone="13800001111", role="psychiatrist"
    )
    _submit(form)
    expect(page.get_by_test_id("members")).to_contain_text("孙医生")
    team_url = page.url

    # More members from the district's sheet (UTF-8 with BOM), through the emergency page's
    # "批量导入": the research teacher imported above leads, an outside psychiatrist joins; a row
    # for 乙区's team is refused.
    members_csv = tmp_path / "甲区危机干预工作队成员.csv"
    members_csv.write_text(
        "所属单位,姓名,成员单位,队内职务,值班电话,起始日期\n"
        "甲区,周教研,,队长,13800002222,2026-09-01\n"
        "甲区,李医生,市精神卫生中心,精神科医生,,2026-09-01\n"
        "乙区,吴医生,市精神卫生中心,队员,,2026-09-01\n",
        encoding="utf-8-sig",
    )
    page.goto(reverse("emergency:home"))

    def only_the_first_member() -> None:
        page.goto(team_url)
        expect(page.get_by_test_id("members").locator("tbody tr")).to_have_count(1)
        page.goto(reverse("emergency:home"))

    progress = _dry_run_then_import(
        page, "crisis_team_members", members_csv, "team-import-link", only_the_first_member
    )
    assert _counts(progress) == {"created": "2", "updated": "0", "unchanged": "0", "rejected": "1"}
    assert "乙区" in _report(page)["4"][2]
    page.goto(team_url)
    members = page.get_by_test_id("members")
    expect(members.locator("tbody tr")).to_have_count(3)
    expect(members.locator("tr", has_text="周教研")).to_contain_text("队长")
    expect(members.locator("tr", has_text="李医生")).to_contain_text("市精神卫生中心")

    # The district's own helpline, then a change of its hours.
    page.goto(reverse("emergency:hotline-list"))
    page.get_by_role("link", name="新增甲区热线").click()
    form = page.locator("form:has([name=number])")
    _fill(
        form,
        name="甲区心理辅导站热线",
        number="0791-86000003",
        hours="工作日 8:30–17:30",
        audience="学生、家长",
        order="1",
    )
    _submit(form)
    line = page.get_by_test_id("hotlines").locator("tr[data-number='0791-86000003']")
    expect(line).to_contain_text("工作日 8:30–17:30")
    line.get_by_role("link", name="编辑").click()
    _fill(page.locator("form:has([name=number])"), hours="每天 8:00–22:00")
    _submit(page.locator("form:has([name=number])"))
    expect(line).to_contain_text("每天 8:00–22:00")

    # The district's list of schools with gaps: both schools miss their groups until 甲区第一中学
    # sets them up (the school admin does it; a district admin may not).
    district_url = reverse("orgs:unit-detail", kwargs={"code": w.district_a.code})
    page.goto(district_url)
    gaps = page.get_by_test_id("group-gaps")
    expect(gaps.locator("tbody tr")).to_have_count(2)
    expect(gaps.locator("tr", has_text=w.school_a.name).locator("[data-gap]")).to_have_count(3)
    school_context, school_page, school_errors = _context(browser, live_server, "school_admin_a")
    school_page.goto(reverse("people:school-groups", kwargs={"code": w.school_a.code}))
    for kind, staff, role in [
        ("leadership", w.principal, "leader"),
        ("work", w.school_admin.staff, "leader"),
        ("crisis", w.school_admin.staff, "leader"),
    ]:
        form = school_page.get_by_test_id("group-form")
        _fill(form, kind=kind, staff=str(staff.pk), role=role)
        _submit(form)
    assert school_errors.seen == []
    school_context.close()
    page.goto(district_url)
    expect(gaps.locator("tbody tr")).to_have_count(1)
    expect(gaps).to_contain_text(w.small.name)
    expect(gaps).not_to_contain_text(w.school_a.name)

    # A school of another district: nothing of it, and it is not offered anywhere.
    for url in [
        reverse("orgs:unit-detail", kwargs={"code": w.school_b.code}),
        reverse("facilities:room-detail", kwargs={"code": w.school_b.code}),
        reverse("workforce:training-summary") + f"?unit={w.school_b.code}",
        reverse("people:school-groups", kwargs={"code": w.school_b.code}),
    ]:
        response = page.goto(url)
        assert response.status in (403, 404), url
        assert w.school_b.name not in page.content(), url
    page.goto(reverse("staff:coverage-add"))
    expect(page.locator(f"select[name=school] option[value='{w.school_b.pk}']")).to_have_count(0)

    assert errors.seen == []
    context.close()


# --- the city admin ------------------------------------------------------------------------------


def test_city_admin_keeps_plans_drills_departments_and_experts(
    browser, live_server, city, tmp_path
):
    w = city
    context, page, errors = _context(browser, live_server, "city_admin")
    document = tmp_path / "示例市学生心理危机干预应急预案.pdf"
    document.write_bytes(PDF)

    # An emergency plan with its document, a second version, and a drill under it.
    page.goto(reverse("emergency:plan-create"))
    form = page.locator("form:has([name=title])")
    _fill(
        form,
        unit=str(w.city.pk),
        title="示例市学生心理危机干预应急预案",
        kind="crisis",
        effective_on="2026-03-01",
        summary="首次发布",
    )
    form.locator("input[name=document]").set_input_files(str(document))
    _submit(form)
    versions = page.get_by_test_id("versions")
    expect(versions.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="上传新版本").click()
    form = page.locator("form:has([name=effective_on])")
    _fill(form, effective_on="2026-11-01", summary="补充重大事件期间的联络流程")
    form.locator("input[name=document]").set_input_files(str(document))
    _submit(form)
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions).to_contain_text("补充重大事件期间的联络流程")
    page.goto(reverse("emergency:drill-create"))
    form = page.locator("form:has([name=scenario])")
    _fill(
        form,
        unit=str(w.city.pk),
        held_on="2026-11-20",
        scenario="学生在校园内出现自伤风险的处置演练",
        participants="市危机干预工作队、甲区第一中学",
        participant_count="36",
        findings="家长联络环节用时偏长",
    )
    form.locator("select[name=plan]").select_option(
        label="示例市学生心理危机干预应急预案（示例市）"
    )
    _submit(form)
    page.goto(reverse("emergency:home"))
    drills = page.get_by_test_id("drills")
    expect(drills).to_contain_text("2026-11-20")
    expect(drills).to_contain_text("家长联络环节用时偏长")
    plans = page.get_by_test_id("plans")
    expect(plans).to_contain_text("v2 · 2026-11-01")

    # A civil-affairs account of 甲区: it sees figures of its area, never a child's name.
    page.goto(reverse("partners:department-accounts"))
    form = page.locator("form:has([name=department])")
    _fill(
        form,
        username="minzheng_jia",
        name="甲区民政局干部",
        password="Civil-Affairs-2026!",
        department="civil_affairs",
        org_unit=str(w.district_a.pk),
    )
    _submit(form)
    posts = page.get_by_test_id("department-posts")
    expect(posts.locator("tr", has_text="minzheng_jia")).to_contain_text("民政")
    officer_context = browser.new_context(
        locale="zh-CN", viewport=DESKTOP, base_url=live_server.url
    )
    officer = officer_context.new_page()
    officer_errors = ServerErrors(officer)
    sign_in(officer, "minzheng_jia", "Civil-Affairs-2026!")
    # The password the city admin set is changed at the first sign-in, after the second step.
    assert officer.url.endswith(reverse("account:password-change"))
    form = officer.locator("form:has([name=new_password1])")
    _fill(
        form,
        old_password="Civil-Affairs-2026!",
        new_password1="Minzheng-Own-7Kq!",
        new_password2="Minzheng-Own-7Kq!",
    )
    _submit(form)
    officer.goto(reverse("partners:department-home"))
    expect(officer.locator("main")).to_contain_text("甲区")
    for student in (w.stu_a1, w.stu_a2, w.girl_a1):
        assert student.name not in officer.content()
    response = officer.goto(reverse("people:student-detail", kwargs={"code": w.stu_a1.code}))
    assert response.status in (403, 404)
    assert officer_errors.seen == []
    officer_context.close()

    # An expert of the city's pool, then on the expert committee.
    page.goto(reverse("workforce:expert-create"))
    form = page.locator("form:has([name=expertise])")
    _fill(
        form,
        owner=str(w.city.pk),
        name="郑教授",
        affiliation="江西师范大学心理学院",
        expertise="青少年抑郁、危机干预督导",
        availability="available",
    )
    _submit(form)
    form = page.get_by_test_id("committee-form")
    _fill(form, role="member", start_date="2026-09-01")
    _submit(form)
    terms = page.get_by_test_id("committee-terms").locator("tbody tr")
    expect(terms).to_have_count(1)
    expect(terms.locator("td").first).to_have_text("委员")  # a committee's 委员, not a team's 队员
    page.goto(reverse("workforce:expert-list"))
    expect(page.get_by_test_id("expert-table")).to_contain_text("郑教授")

    # The pools from a sheet (XLSX), through the expert list's "批量导入": a city expert and one
    # of 甲区's pool join, 郑教授's availability changes (updated, not duplicated), a row with an
    # availability the registry does not know is refused.
    experts = tmp_path / "心理健康专家库.xlsx"
    _xlsx(
        experts,
        [
            "专家库所属单位,姓名,工作单位,专长,可用状态",
            "示例市,吴教授,南昌大学第一附属医院精神科,儿童青少年精神障碍,可用",
            "甲区,冯老师,甲区教师发展中心,学校心理辅导,有限",
            "示例市,郑教授,江西师范大学心理学院,青少年抑郁、危机干预督导,暂不可用",
            "示例市,陈医生,,,随时",
        ],
    )

    def only_zheng() -> None:
        page.goto(reverse("workforce:expert-list"))
        expect(page.get_by_test_id("expert-table").locator("tbody tr")).to_have_count(1)

    progress = _dry_run_then_import(page, "experts", experts, "expert-import-link", only_zheng)
    assert _counts(progress) == {"created": "2", "updated": "1", "unchanged": "0", "rejected": "1"}
    assert "随时" in _report(page)["5"][2]
    page.goto(reverse("workforce:expert-list"))
    table = page.get_by_test_id("expert-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tr", has_text="吴教授")).to_contain_text("儿童青少年精神障碍")
    expect(table.locator("tr", has_text="冯老师")).to_contain_text("甲区")
    expect(table.locator("tr", has_text="郑教授")).to_contain_text("暂不可参加")

    # The city imports staff for schools of both districts; the ratio table has every school.
    staff_csv = tmp_path / "全市心理教师补录.csv"
    staff_csv.write_bytes(
        "姓名,学校名称,岗位\r\n钱心理,乙区第二中学,专职心理教师\r\n孙兼职,甲区希望小学,兼职心理教师\r\n".encode(
            "gb18030"
        )
    )
    progress = _upload(page, "staff", staff_csv)
    assert _counts(progress) == {"created": "2", "updated": "0", "unchanged": "0", "rejected": "0"}
    assert _ratio_row(page, w.school_b) == ["1", "1", "0", "1", ""]
    assert _ratio_row(page, w.small) == ["5", "0", "1", "1", ""]

    # Every district: the training summary, the research indicator and the rooms list.
    page.goto(reverse("workforce:training-summary"))
    districts = page.get_by_test_id("area-table").locator("tr[data-unit]")
    expect(districts).to_have_count(2)
    expect(districts.nth(0)).to_contain_text("甲区")
    expect(districts.nth(1)).to_contain_text("乙区")
    page.goto(reverse("workforce:research-indicator"))
    expect(page.get_by_test_id("research-indicator").locator("tr[data-district]")).to_have_count(2)
    page.goto(reverse("facilities:room-list"))
    expect(page.locator("#f-district option")).to_have_text(["全部", "甲区", "乙区"])
    expect(page.get_by_test_id("status-counts").locator("[data-count=total]")).to_have_text(
        "4"
    )  # three schools, one station

    assert errors.seen == []
    context.close()
