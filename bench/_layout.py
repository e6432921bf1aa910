"""The production layout of docs/operations.md on one machine, shared by bench/submit.py and
bench/faults.py: the seed data (a school, its students, an open campaign with sittings), the
students' answer sheets, the simulated browser, and starting and stopping gunicorn, Celery and
Redis with the production settings (XINQIAO_ENV=production) on loopback."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import math
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT

SECRET = "bench-submit-secret-key-" + "x" * 40
FIELD_KEY = "YmVuY2gtc3VibWl0LWZpZWxkLWtleS0zMi1ieXRlcyE="  # 32 bytes, base64
# The keyed hashes' key, set in every process: outside production an unset FIELD_HASH_KEY is the
# instance's own generated one, so the seeding process (development settings) and gunicorn
# (production settings) would hash a 学籍号 differently and no student could sign in.
HASH_KEY = base64.b64encode(hashlib.sha256(b"xinqiao bench keyed hash key").digest()).decode()
# The audit chain's key: 32 bytes that look random (production refuses weak keys), the same in
# every process of a run.
AUDIT_KEY = base64.b64encode(hashlib.sha256(b"xinqiao bench audit chain key").digest()).decode()
CSRF = "BenchCsrfSecret0123456789abcdefA"  # 32 chars: cookie and header (unmasked form)
CLASS_SIZE = 50


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


# --- data ---------------------------------------------------------------------------------------


def seed(n_students: int, n_sitting_classes: int, psychologists: int = 1) -> dict:
    """A city, a district, one junior school with `n_students` students in classes of CLASS_SIZE,
    `psychologists` psychology teachers (the first one, `psych`, opens the campaign), an open
    campaign and a sitting (a code) for each of the first `n_sitting_classes` classes."""
    import datetime

    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from xinqiao.access.services import create_staff
    from xinqiao.orgs.services import create_term, create_unit
    from xinqiao.people.models import Student
    from xinqiao.screening import services as screening
    from xinqiao.screening.models import Assignment, Sitting
    from xinqiao.screening.taking.services import battery_for

    city = create_unit(actor=None, parent=None, kind="city", name="示例市")
    district = create_unit(actor=None, parent=city, kind="district", name="甲区")
    school = create_unit(
        actor=None,
        parent=district,
        kind="school",
        name="第一中学",
        stage="junior",
        school_code="3601000001",
    )
    grade = create_unit(actor=None, parent=school, kind="grade", name="七年级", grade_level=7)
    term = create_term(
        actor=None,
        school_year_start=2026,
        season="autumn",
        start_date=datetime.date(2026, 9, 1),
        end_date=datetime.date(2027, 1, 22),
        make_current=True,
    )

    def psychology_teacher(username: str, name: str) -> User:
        user = create_staff(
            actor=None,
            username=username,
            name=name,
            org_unit=school,
            password="Bench-Passw0rd!x",  # noqa: S106 - a scratch database
            roles=[("psychology_teacher", school)],
        ).user
        assert user is not None
        return user

    psych = psychology_teacher("psych", "心理老师")
    teachers = [psych.pk] + [
        psychology_teacher(f"psych{n}", f"心理老师{n}").pk for n in range(2, psychologists + 1)
    ]
    n_classes = math.ceil(n_students / CLASS_SIZE)
    classes = [
        create_unit(actor=None, parent=grade, kind="class", name=f"七({i + 1})班")
        for i in range(n_classes)
    ]
    students = [
        Student(
            student_number=f"G3601022013{i:07d}",
            name=f"学生{i}",
            gender="MF"[i % 2],
            birth_date=datetime.date(2013, 1, 1),
            school=school,
            school_class=classes[i // CLASS_SIZE],
        )
        for i in range(n_students)
    ]
    for student in students:
        student.fill_search_keys()  # the number's hash: its row key and lookup key
    Student.objects.bulk_create(students, batch_size=5000)
    number_of = {s.pk: s.student_number for s in students}
    now = timezone.now()
    campaign = screening.create_campaign(
        actor=psych,
        name="秋季普查",
        term=term,
        kind="routine_autumn",
        owner_unit=school,
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(days=2),
    )
    screening.open_campaign(actor=psych, campaign=campaign)
    campaign.refresh_from_db()
    codes = {}
    for klass in classes[:n_sitting_classes]:
        sitting = screening.open_sitting(
            actor=psych, campaign=campaign, school_class=klass, minutes=240
        )
        codes[klass.pk] = sitting.code
    rows = [
        (pk, number_of[student_id], class_id, band)
        for pk, student_id, class_id, band in Assignment.objects.filter(campaign=campaign)
        .order_by("student_id")
        .values_list("pk", "student_id", "school_class_id", "stage_band")
    ]
    items, battery = [], []
    for inst in battery_for(campaign.pk, campaign.code, rows[0][3]):
        for item in inst.definition.items:
            options = sorted(inst.codes[item.id])
            battery.append((inst.code, item.id, options, item.ask_if_any_of, item.ask_if_min or 0))
            if not item.ask_if_any_of:
                items.append((inst.code, item.id, options))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert Sitting.objects.count() == len(codes)
    return {
        "school": school.pk,
        "teachers": teachers,  # user ids of the psychology teachers
        "students": [(pk, number, codes.get(cls)) for pk, number, cls, _band in rows],
        "items": items,  # the unconditional items (capacity: one random answer each time)
        "battery": battery,  # every item in order, with its ask-if condition
    }


def answer_sheet(battery: list, rng: random.Random | None) -> list[tuple[str, str, int]]:
    """One student's answers, (instrument, item, code) in questionnaire order.

    With a generator: one latent severity per student drawn from Beta(0.6, 5) — mostly low, a long
    tail — and each answer binomial in that severity over the item's codes, as bench/score.py does;
    a conditional item (ASQ acuity) is answered when it would be shown. About half of the students
    then fire at least one alert rule (ASQ screen positive, PHQ-A item 9, ...): the six yes/no
    suicide items are independent given the severity, so more students say yes to one of them
    than in a school, and the alert path runs on every other hand-in.
    Without one (--all-flagged, the answers of the first version of this benchmark): the codes in
    turn, conditional items skipped — every student fires six alert rules."""
    out: list[tuple[str, str, int]] = []
    if rng is None:
        seq = 0
        for code, item_id, codes, ask_if, _min in battery:
            if not ask_if:
                seq += 1
                out.append((code, item_id, codes[seq % len(codes)]))
        return out
    severity = rng.betavariate(0.6, 5.0)
    given: dict[tuple[str, str], int] = {}
    for code, item_id, codes, ask_if, ask_min in battery:
        if ask_if and not any(given.get((code, t), -1) >= ask_min for t in ask_if):
            continue
        k = sum(rng.random() < severity for _ in range(len(codes) - 1))
        given[(code, item_id)] = codes[k]
        out.append((code, item_id, codes[k]))
    return out


def calm_sheet(battery: list) -> list[tuple[str, str, int]]:
    """Every unconditional item answered with its lowest code (never, not at all, no): no alert
    rule fires."""
    return [
        (code, item_id, codes[0]) for code, item_id, codes, ask_if, _min in battery if not ask_if
    ]


def bench_nonce(assignment_id: int) -> str:
    """The sign-in nonce a simulated browser holds for an assignment it was never signed into."""
    return f"bench-nonce-{assignment_id:010d}"


def bind_for_bench(assignment_ids: list[int]) -> None:
    """Store each assignment's bench nonce, as a sign-in would: a cookie without the assignment's
    current nonce is refused (the newest sign-in wins)."""
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat, LPad

    from xinqiao.screening.models import Assignment

    Assignment.objects.filter(id__in=assignment_ids).update(
        session_nonce=Concat(Value("bench-nonce-"), LPad(Cast("id", CharField()), 10, Value("0")))
    )


def cookie_for(assignment_id: int) -> str:
    """The take cookie of an assignment bound by `bind_for_bench`."""
    from django.core import signing

    from xinqiao.screening.taking.session import _SALT

    payload = {"a": assignment_id, "n": bench_nonce(assignment_id)}
    return signing.dumps(payload, salt=_SALT, compress=False)


# --- the servers and the browser ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def layout_env(tmp: Path, settings_module: str, db_url: str, redis_url: str) -> dict[str, str]:
    """The environment of every process of the layout: production settings from the generated
    module `settings_module` (in `tmp`), the scratch database, Redis (or none: embedded tasks)."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": db_url,
        "XINQIAO_ENV": "production",
        "SECRET_KEY": SECRET,
        "FIELD_ENCRYPTION_KEY": FIELD_KEY,
        "FIELD_HASH_KEY": HASH_KEY,
        "AUDIT_CHAIN_KEY": AUDIT_KEY,
        "AUDIT_ANCHOR_PATH": str(tmp / "audit-anchors.jsonl"),  # each run's own database
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def gunicorn_command(port: int, workers: int, *extra: str) -> list[str]:
    """docs/operations.md: `gunicorn config.wsgi -w N -b 127.0.0.1:PORT`."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        *extra,
    ]


def celery_command(*args: str) -> list[str]:
    """`celery -A config <args>`: `worker -l info`, `beat -l info --schedule FILE`."""
    return [sys.executable, "-m", "celery", "-A", "config", *args]


def wait_until_serving(port: int, timeout: float = 60.0, path: str = "/take/") -> bool:
    """Poll `path` until it answers 200; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _, _ = Client(port, retry_once=False).get(path)
            if status == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    return False


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """SIGTERM in reverse order of start, then SIGKILL whatever is still there after 30 s."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def children_of(pid: int) -> list[int]:
    """The direct children of `pid`, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(raw[raw.rindex(")") + 2 :].split()[1]) == pid:
            out.append(int(entry))
    return out


def vm_hwm_mb(pid: int) -> float:
    """A process's peak resident set (VmHWM) in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Client:
    """One browser: http.client on loopback (gunicorn's sync workers close after each response)."""

    def __init__(self, port: int, take_cookie: str = "", retry_once: bool = True) -> None:
        self.port = port
        self.take = take_cookie
        self.retry_once = retry_once  # False: a broken connection raises (the caller retries)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def headers(self, extra: dict | None = None) -> dict:
        cookie = f"csrftoken={CSRF}" + (f"; xq_take={self.take}" if self.take else "")
        h = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "Origin": f"https://127.0.0.1:{self.port}",
            "Cookie": cookie,
            "X-CSRFToken": CSRF,
        }
        h.update(extra or {})
        return h

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        ctype: str = "",
        headers: dict | None = None,
    ) -> tuple[int, dict, bytes]:
        extra = {"Content-Type": ctype} if ctype else {}
        extra.update(headers or {})
        try:
            self.conn.request(method, path, body=body, headers=self.headers(extra))
            r = self.conn.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            if not self.retry_once:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                raise
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=self.headers(extra))
            r = self.conn.getresponse()
            data = r.read()
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return r.status, dict(r.getheaders()), data

    def get(self, path: str) -> tuple[int, dict, bytes]:
        return self.send("GET", path)

    def post_json(
        self, path: str, body: object, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        return self.send("POST", path, json.dumps(body).encode(), "application/json", headers)
