"""The server is killed (SIGKILL) in the middle of a class sitting and restarted: every answer that
got an OK is still there, and the students finish.

Runs the real app in a subprocess (`manage.py runserver --noreload`) on a free loopback port, on a
SQLite file database, and on PostgreSQL when one is reachable (scratch database, dropped after).
Students are plain HTTP clients with cookie jars, like browsers without JavaScript timers.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SEED = r"""
import datetime, json, django
django.setup()
from django.utils import timezone
from xinqiao.orgs.services import create_term, create_unit
from xinqiao.people.services import create_student
from xinqiao.access.services import create_staff
from xinqiao.screening import services as screening
from xinqiao.screening.models import Assignment
from xinqiao.screening.taking.services import battery_for

city = create_unit(actor=None, parent=None, kind="city", name="示例市")
district = create_unit(actor=None, parent=city, kind="district", name="甲区")
school = create_unit(actor=None, parent=district, kind="school", name="甲区第一中学",
                     stage="junior",
                     school_code="3601009999")
grade = create_unit(actor=None, parent=school, kind="grade", name="七年级", grade_level=7)
klass = create_unit(actor=None, parent=grade, kind="class", name="七(1)班")
term = create_term(actor=None, school_year_start=2026, season="autumn",
                   start_date=datetime.date(2026, 9, 1), end_date=datetime.date(2027, 1, 22),
                   make_current=True)
psych = create_staff(actor=None, username="psych_rel", name="心理老师", org_unit=school,
                     password="Xq-test-Passw0rd!", roles=[("psychology_teacher", school)]).user
numbers = []
for i in range(N_STUDENTS):
    number = "G36010220130101%04d" % i
    create_student(actor=None, student_number=number, name="学生%d" % i, gender="MF"[i % 2],
                   birth_date=datetime.date(2013, 1, 1), school_class=klass, term=term)
    numbers.append(number)
now = timezone.now()
campaign = screening.create_campaign(actor=psych, name="秋季普查", term=term, kind="routine_autumn",
    owner_unit=school, opens_at=now - datetime.timedelta(hours=1),
    closes_at=now + datetime.timedelta(days=1))
screening.open_campaign(actor=psych, campaign=campaign)
campaign.refresh_from_db()
sitting = screening.open_sitting(actor=psych, campaign=campaign, school_class=klass, minutes=120)
a = Assignment.objects.filter(campaign=campaign).first()
items = []
for inst in battery_for(a.campaign_id, campaign.code, a.stage_band):
    for item in inst.definition.items:
        if not item.ask_if_any_of:
            items.append([inst.code, item.id, sorted(inst.codes[item.id])])
print(json.dumps({"code": sitting.code, "numbers": numbers, "items": items}))
"""

CHECK = r"""
import json, django
django.setup()
from xinqiao.screening.models import AnswerDraft, Assignment, Response
drafts = {}
for d in AnswerDraft.objects.select_related("assignment__student"):
    key = "%s:%s" % (d.instrument_code, d.item_id)
    drafts.setdefault(d.assignment.student.student_number, {})[key] = [d.answer, d.client_seq]
responses = {}
for r in Response.objects.select_related("assignment__student"):
    responses.setdefault(r.assignment.student.student_number, []).append(r.instrument_code)
print(json.dumps({"drafts": drafts, "responses": responses,
                  # Re-sits that alert rules assign for invalid questionnaires are new work.
                  "statuses": sorted(set(Assignment.objects.filter(resit_of__isnull=True)
                                         .values_list("status", flat=True)))}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_python(env: dict[str, str], code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


class Server:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/take/", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise AssertionError("server did not start: " + self.log.read_text()[-2000:])

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


class Student:
    """A browser without JavaScript timers: a cookie jar, the CSRF token, answers it holds."""

    def __init__(self, port: int, code: str, number: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.code, self.number = code, number
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.acked: dict[str, list] = {}  # "CODE:item" -> [value, seq] the server said OK to
        self.pending: list[dict] = []

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def request(self, path: str, data: bytes | None = None, json_body=None, timeout: float = 10):
        headers = {}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers = {"Content-Type": "application/json", "X-CSRFToken": self.csrf()}
        req = urllib.request.Request(self.base + path, data=data, headers=headers)  # noqa: S310 - loopback http
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def enter(self) -> None:
        self.request("/take/")
        form = urllib.parse.urlencode(
            {"code": self.code, "student_number": self.number, "csrfmiddlewaretoken": self.csrf()}
        ).encode()
        status, body = self.request("/take/", data=form)
        assert status == 200, body[:500]
        assert b"data-take" in body, body[:500]

    def answer(self, entries: list[dict]) -> bool:
        self.pending.extend(entries)
        try:
            status, _body = self.request("/take/api/answers/", json_body={"answers": self.pending})
        except (urllib.error.URLError, ConnectionError, OSError, TimeoutError):
            return False  # no OK: the answers stay pending "in the browser"
        if status != 200:
            return False
        for e in self.pending:
            self.acked[f"{e['i']}:{e['q']}"] = [e["v"], e["n"]]
        self.pending = []
        return True

    def submit(self, key: str) -> int:
        status, _ = self.request("/take/api/submit/", json_body={"client_key": key, "seq": 0})
        return status


def _postgres_url() -> str | None:
    # One database per test process: parallel workers and concurrent suites never share it.
    name = f"xinqiao_take_reliability_{os.getpid()}"
    try:
        import psycopg

        with psycopg.connect(
            "postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=3, autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgres://postgres@127.0.0.1:5432/{name}"
    except Exception:
        return None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_the_server_mid_sitting_loses_no_acknowledged_answer(request, tmp_path, backend):
    if backend == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('migrated_sqlite')}"
    else:
        url = _postgres_url()
        if url is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "XINQIAO_ENV": "development",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("REDIS_URL", None)
    if backend == "postgresql":  # the SQLite file comes migrated
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
    world = json.loads(django_python(env, "N_STUDENTS = 6\n" + SEED))
    items = world["items"]
    port = free_port()
    server = Server(env, port, tmp_path / "server.log")
    server.start()
    try:
        students = [Student(port, world["code"], n) for n in world["numbers"]]
        for s in students:
            s.enter()
        seq = 0

        def entries(student_index: int, start: int, stop: int) -> list[dict]:
            nonlocal seq
            out = []
            for code, item_id, codes in items[start:stop]:
                seq += 1
                out.append(
                    {
                        "i": code,
                        "q": item_id,
                        "v": codes[(student_index + seq) % len(codes)],
                        "s": 3.0,
                        "n": seq,
                    }
                )
            return out

        half = len(items) // 2
        for i, s in enumerate(students):  # first half, in two batches each, all acknowledged
            assert s.answer(entries(i, 0, half // 2))
            assert s.answer(entries(i, half // 2, half))

        # Mid-sitting: students keep sending while the server is SIGKILLed.
        stop = threading.Event()

        def keep_answering(i: int, s: Student) -> None:
            pos = half
            while not stop.is_set() and pos < len(items) - 2:
                s.answer(entries(i, pos, pos + 1))
                pos += 1
                time.sleep(0.01)

        threads = [
            threading.Thread(target=keep_answering, args=(i, s)) for i, s in enumerate(students)
        ]
        for t in threads:
            t.start()
        time.sleep(0.5)
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=60)

        snapshot = json.loads(django_python(env, CHECK))
        for s in students:
            stored = snapshot["drafts"].get(s.number, {})
            for key, (value, n) in s.acked.items():
                assert key in stored, f"{s.number}: acknowledged {key} lost"
                assert stored[key][1] >= n
                assert stored[key][1] > n or stored[key][0] == value
        acked_total = sum(len(s.acked) for s in students)
        assert acked_total >= len(students) * half

        server.start()  # restart: the students finish
        for i, s in enumerate(students):
            status, body = s.request("/take/api/state/")
            assert status == 200
            state = json.loads(body)
            on_server = {f"{d['i']}:{d['q']}": [d["v"], d["n"]] for d in state["drafts"]}
            for key, pair in s.acked.items():
                assert on_server[key][1] >= pair[1]
            answered = set(on_server) | {f"{e['i']}:{e['q']}" for e in s.pending}
            rest = [
                k
                for k, (code, item_id, codes) in ((f"{c}:{q}", (c, q, cs)) for c, q, cs in items)
                if k not in answered
            ]
            todo = []
            for key in rest:
                code, item_id = key.split(":", 1)
                codes = next(cs for c, q, cs in items if c == code and q == item_id)
                seq += 1
                todo.append({"i": code, "q": item_id, "v": codes[0], "s": 2.0, "n": seq})
            assert s.answer(todo)  # resends whatever never got an OK, plus the rest
            assert s.submit(f"reliability-key-{i:04d}") == 200
            assert s.submit(f"reliability-key-{i:04d}") == 200  # a retry changes nothing

        final = json.loads(django_python(env, CHECK))
        for s in students:
            assert sorted(final["responses"][s.number]) == ["ASQ", "GAD-7", "PHQ-A"]
            stored = final["drafts"][s.number]
            for key, (_value, n) in s.acked.items():
                assert stored[key][1] >= n
        assert set(final["statuses"]) <= {"completed", "invalid"}
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.terminate()
            server.proc.wait(timeout=10)
        if backend == "postgresql":
            import psycopg

            with psycopg.connect(
                "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
            ) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
