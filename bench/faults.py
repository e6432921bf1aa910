"""Faults injected into the production layout while students hand in answers that raise alerts.

Runs the layout of docs/operations.md on loopback — gunicorn (2 x cores + 1 sync workers), a
Celery worker, celery beat (not with --no-beat), and a redis-server of the bench's own on a free
port — on a scratch PostgreSQL database (`bench_faults`), with the production settings
(XINQIAO_ENV=production). A supervisor thread stands in for systemd (`Restart=always`,
`RestartSec=1`): it starts gunicorn's master, the Celery worker and beat again 1 s after one
exits, and logs it. Redis is stopped and started by the bench itself (fault 5).

Every trial, two classes of students (sitting code + 学籍号, the questionnaire page, one autosave
batch per instrument, hand-in) arrive at a steady pace; their answer sheets raise a RED alert
(ASQ: a past attempt and thoughts of killing oneself — every psychology teacher of the school is
told, three here), an ORANGE one (PHQ-A item 9 — the alert's owner is told) or nothing. The
simulated browser behaves as take.js: one client key per assignment, generated once; a failed
request (a dropped connection, a 5xx) is sent again with the same key after 1, 2, 4, ... s (at
most 30 s); "stale" sends the answers again; "submitted" is the end. One fault is injected while
the hand-ins are in flight:

1. `celery-worker`: the Celery worker's main process `kill -9` (the supervisor restarts it);
2. `celery-pool`: one pool process of the worker `kill -9` (the worker starts another);
3. `gunicorn-worker`: a gunicorn worker `kill -9` while requests are in flight (the master starts
   another; the cut requests are retried);
4. `die-after-commit`: hand-ins sent with `X-Bench-Die-After-Commit`: a bench-only middleware (in
   the generated urls module) wraps the request in a transaction whose `on_commit` is
   `os.kill(os.getpid(), SIGKILL)` — the worker dies right after the hand-in's COMMIT, before its
   reply and before its other on-commit work (the kick of the alert raiser); the client's retry
   must get the stored result;
5. `redis`: `SHUTDOWN NOSAVE` (queued and unacknowledged messages are lost), started again 5 s
   later;
6. `db-backends`: `pg_terminate_backend` for every backend of the scratch database but the
   bench's own.

Two timings. `mid`: the fault strikes while students hand in, and they stop arriving a second
after it is cleared (the process is back, Redis answers again, the backends were killed). `tail`
(the back-end faults: Celery worker, pool process, Redis, backends): the fault strikes the moment
the last hand-in of the trial is acknowledged, while the kicks of the last hand-ins still wait out
their countdown (xinqiao.core.queue) — whatever it strands must be found by the system itself,
not by the kicks of later hand-ins. The bench then waits until the system is quiet
(every expected alert raised, no hand-in queued, the outbox empty; at most 120 s) and checks in
the database, for the trial's students:
- lost: acknowledged hand-ins (the client got its 200) not stored; doubled: a response stored
  twice for one assignment and instrument;
- alerts_missing / alerts_duplicated: the rules of the school's rule set evaluated on the stored
  responses give the expected triggers (student, rule); each must exist once, on one alert per
  student, and none elsewhere;
- notifications_missing: each alert's recipients (a red alert: every psychology teacher; else
  its owner) must each have its notification, delivered to the inbox (InboxMessage), and the
  outbox must be empty; a notification doubled for one recipient counts in alerts_duplicated;
- the alert delay of a hand-in: its first trigger's time minus the later of its hand-in and the
  fault clearing (an alert still missing: at least the wait); max_alert_delay_s is the largest
  over all trials. The delivery delay of a notification (its row marked dispatched, minus the
  later of its writing and the clearing) is printed too and held to the same 60 s.
Peak RSS is the largest VmHWM of the layout's processes (gunicorn, Celery, beat, Redis).
Prints the RESULT line last and exits non-zero when a count is not 0, an alert or delivery delay
is over 60 s or a simulated student gave up retrying (150 s).

    python bench/faults.py --quick      # CI: one trial of each fault and timing, with beat
    python bench/faults.py              # 5 trials of each, with beat, then without
    python bench/faults.py [--no-beat] [--trials N] [--faults celery-worker,redis,...] [--logs DIR]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import ROOT, use_scratch_database
from _layout import (
    AUDIT_KEY,
    CLASS_SIZE,
    CSRF,
    FIELD_KEY,
    HASH_KEY,
    SECRET,
    Client,
    celery_command,
    children_of,
    free_port,
    gunicorn_command,
    layout_env,
    seed,
    stop_processes,
    vm_hwm_mb,
    wait_until_serving,
)

DB_NAME = "bench_faults"
FAULTS = (
    "celery-worker",
    "celery-pool",
    "gunicorn-worker",
    "die-after-commit",
    "redis",
    "db-backends",
)
TAIL_FAULTS = ("celery-worker", "celery-pool", "redis", "db-backends")
RESTART_SEC = 1.0  # systemd RestartSec=1
REDIS_DOWN_SECONDS = 5.0
QUIET_CAP = 120.0  # seconds: a trial's wait for every alert and notification
TARGET_DELAY = 60.0
MAX_BACKOFF = 30.0  # take.js MAX_BACKOFF_MS
STUDENT_GIVE_UP = 150.0  # seconds: a simulated student stops retrying (reported)

SETTINGS = """
from config.settings import *  # noqa: F403
ROOT_URLCONF = "bench_faults_urls"
STATIC_ROOT = {static!r}
STORAGES = {{
    **STORAGES,
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}
WHITENOISE_USE_FINDERS = True
# Outermost, so that its transaction holds the whole request (the hand-in's is a savepoint in it).
MIDDLEWARE = ["bench_faults_urls.DieAfterCommit", *MIDDLEWARE]
"""
URLS = '''
import os, signal
from django.db import transaction
from config.urls import urlpatterns  # noqa: F401


class DieAfterCommit:
    """Bench only: a request with X-Bench-Die-After-Commit runs in one transaction, and the
    worker kills itself (SIGKILL) the moment it commits, before the reply is sent."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_X_BENCH_DIE_AFTER_COMMIT" not in request.META:
            return self.get_response(request)
        with transaction.atomic():
            transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
            return self.get_response(request)
'''


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


T0 = time.monotonic()


def stamp() -> str:
    return f"{time.monotonic() - T0:7.1f}s"


def log(msg: str) -> None:
    print(f"[{stamp()}] {msg}", flush=True)


# --- answer sheets -------------------------------------------------------------------------------


def sheet_for(battery: list, kind: str) -> list[tuple[str, str, int]]:
    """One student's answers in questionnaire order: every answer its lowest code (no rule
    fires), except — `red`: ASQ 3 and 4 yes (thoughts of killing oneself, a past attempt:
    red.asq_attempt_with_phq9_item9, with orange.asq_screen_positive); `orange`: PHQ-A item 9 at
    its second code (orange.phq_item9). A conditional item is answered (lowest code) when shown."""
    wanted: dict[tuple[str, str], int] = {}
    if kind == "red":
        wanted = {("ASQ", "3"): 1, ("ASQ", "4"): 1}
    elif kind == "orange":
        wanted = {("PHQ-A", "9"): 1}
    present = {(code, item) for code, item, *_rest in battery}
    missing = set(wanted) - present
    if missing:
        raise SystemExit(f"the battery has no item {sorted(missing)}: the answer sheets need it")
    out: list[tuple[str, str, int]] = []
    given: dict[tuple[str, str], int] = {}
    for code, item_id, codes, ask_if, ask_min in battery:
        if ask_if and not any(given.get((code, t), -1) >= ask_min for t in ask_if):
            continue
        k = wanted.get((code, item_id), 0)
        value = codes[min(k, len(codes) - 1)]
        given[(code, item_id)] = value
        out.append((code, item_id, value))
    return out


KINDS = ("red", "orange", "calm", "red", "orange")  # 2/5 red, 2/5 orange, 1/5 calm


# --- processes -----------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    cmd: list[str]
    log_path: Path
    proc: subprocess.Popen | None = None
    started_at: float = 0.0  # time.time() of the current process's start
    exits: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), status)
    starts: list[float] = field(default_factory=list)


class Supervisor(threading.Thread):
    """systemd's `Restart=always`, `RestartSec=1` for the layout's long-running processes: a
    process that exits is started again 1 s after it exited; each restart is logged. Also samples
    the peak RSS (VmHWM) of every process of the layout (and of the extra pids it is given)."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.env = env
        self.services: dict[str, Service] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.peak_mb = 0.0
        self.extra_pids: set[int] = set()
        self.restart_log: list[tuple[float, str]] = []

    def add(self, service: Service) -> None:
        with self.lock:
            self._start(service)
            self.services[service.name] = service

    def remove(self, name: str) -> None:
        with self.lock:
            service = self.services.pop(name)
        if service.proc is not None:
            stop_processes([service.proc])

    def _start(self, service: Service) -> None:
        out = service.log_path.open("a")
        service.proc = subprocess.Popen(
            service.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        service.started_at = time.time()
        service.starts.append(service.started_at)

    def pid(self, name: str) -> int:
        proc = self.services[name].proc
        assert proc is not None
        return proc.pid

    def restarting(self) -> bool:
        """True while a process has exited and not been started again."""
        with self.lock:
            return any(s.proc is None or s.proc.poll() is not None for s in self.services.values())

    def run(self) -> None:
        due: dict[str, float] = {}
        last_sample = 0.0
        while not self.stopping.is_set():
            with self.lock:
                for name, service in self.services.items():
                    assert service.proc is not None
                    status = service.proc.poll()
                    if status is None:
                        continue
                    if name not in due:
                        exited = time.time()
                        service.exits.append((exited, status))
                        due[name] = exited + RESTART_SEC
                        log(f"supervisor: {name} (pid {service.proc.pid}) exited, status {status}")
                    elif time.time() >= due[name]:
                        del due[name]
                        self._start(service)
                        self.restart_log.append((service.started_at, name))
                        log(f"supervisor: {name} restarted, pid {service.proc.pid}")
            if time.monotonic() - last_sample > 0.5:
                last_sample = time.monotonic()
                self.sample()
            time.sleep(0.1)

    def sample(self) -> None:
        pids = set(self.extra_pids)
        with self.lock:
            for service in self.services.values():
                if service.proc is not None and service.proc.poll() is None:
                    pids.add(service.proc.pid)
                    pids.update(children_of(service.proc.pid))
        for pid in pids:
            self.peak_mb = max(self.peak_mb, vm_hwm_mb(pid))

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.sample()
        with self.lock:
            procs = [s.proc for s in self.services.values() if s.proc is not None]
        stop_processes(procs)


class RedisServer:
    """A redis-server of the bench's own on a free loopback port, nothing saved to disk."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
                "--logfile",
                str(self.tmp / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def shutdown_nosave(self) -> None:
        # A raw socket: redis-py retries the command on the connection the server closes.
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
            conn.sendall(b"SHUTDOWN NOSAVE\r\n")
            try:
                conn.recv(100)  # nothing: the server closes the connection as it goes
            except OSError:
                pass
        if self.proc is not None:
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


# --- the students --------------------------------------------------------------------------------


@dataclass
class Student:
    assignment: int
    number: str
    sitting_code: str
    kind: str
    sheet: list[tuple[str, str, int]]
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # take.js: once per assignment
    die_after_commit: bool = False
    acked_at: float | None = None  # time.time() of the 200 of the hand-in
    gave_up: bool = False
    died: bool = False  # its die-after-commit attempt was cut (the worker died)


class Load:
    """Students arriving at `rate` per second, each on a thread of a pool of `threads`, through
    the whole path with take.js's retries, until `stop()` (then the ones started finish)."""

    def __init__(self, port: int, students: list[Student], rate: float, threads: int) -> None:
        self.port = port
        self.queue = list(students)
        self.students = students
        self.rate = rate
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(threads)]
        self.lock = threading.Lock()
        self.issuing = threading.Event()
        self.issuing.set()
        self.stopped = threading.Event()
        self.scheduled = 0
        self.started = 0  # students who began (signed in or tried to)
        self.errors: Counter[str] = Counter()  # "submit 500", "enter cut", ...
        self.die_next = 0  # hand-ins still to be sent with X-Bench-Die-After-Commit
        self.died: list[float] = []  # time.time() when a die-after-commit attempt was cut
        self.t0 = 0.0

    def start(self) -> None:
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.issuing.clear()
        self.stopped.set()

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def acked(self) -> list[Student]:
        return [s for s in self.students if s.acked_at is not None]

    def worker(self) -> None:
        while True:
            with self.lock:
                if not self.issuing.is_set() or not self.queue:
                    return
                student = self.queue.pop(0)
                due = self.t0 + self.scheduled / self.rate
                self.scheduled += 1
            delay = due - time.monotonic()
            if delay > 0 and self.stopped.wait(delay):
                return
            with self.lock:
                if not self.issuing.is_set():
                    return
                self.started += 1
            self.take(student)

    def call(self, client: Client, kind: str, fn: Any, *args: Any, **kw: Any) -> tuple[int, Any]:
        """One request; (status, parsed JSON or headers); 0 when the connection was cut."""
        try:
            status, headers, body = fn(*args, **kw)
        except (OSError, http.client.HTTPException):
            with self.lock:
                self.errors[f"{kind} cut"] += 1
            return 0, None
        if status >= 500:
            with self.lock:
                self.errors[f"{kind} {status}"] += 1
        if kind == "enter":
            return status, headers
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    def retrying(self, student: Student, step: Any) -> bool:
        """Run `step()` until it returns True, waiting 1, 2, 4, ... 30 s between tries (take.js);
        False when the student gives up."""
        wait, started = 1.0, time.monotonic()
        while True:
            if step():
                return True
            if time.monotonic() - started > STUDENT_GIVE_UP:
                student.gave_up = True
                return False
            time.sleep(wait)
            wait = min(wait * 2, MAX_BACKOFF)

    def take(self, s: Student) -> None:
        c = Client(self.port, retry_once=False)
        form = f"code={s.sitting_code}&student_number={s.number}&csrfmiddlewaretoken={CSRF}"

        def enter() -> bool:
            status, headers = self.call(
                c,
                "enter",
                c.send,
                "POST",
                "/take/",
                form.encode(),
                "application/x-www-form-urlencoded",
            )
            cookie = (headers or {}).get("Set-Cookie", "")
            if status == 302 and "xq_take=" in cookie:
                c.take = cookie.split("xq_take=", 1)[1].split(";", 1)[0]
                return True
            return False

        if not self.retrying(s, enter):
            return
        if not self.retrying(s, lambda: self.call(c, "page", c.get, "/take/q/")[0] == 200):
            return
        by_inst: dict[str, list] = {}
        for seq, (code, item_id, value) in enumerate(s.sheet, start=1):
            by_inst.setdefault(code, []).append(
                {"i": code, "q": item_id, "v": value, "s": 3.1, "n": seq}
            )

        for batch in by_inst.values():
            if not self.retrying(s, lambda b=batch: self.autosave(c, b)):
                return
        with self.lock:
            die = self.die_next > 0
            if die:
                self.die_next -= 1
        s.die_after_commit = die
        first = [True]

        def hand_in() -> bool:
            headers = {"X-Bench-Die-After-Commit": "1"} if die and first[0] else None
            status, data = self.call(
                c,
                "submit",
                c.post_json,
                "/take/api/submit/",
                {"client_key": s.key, "seq": len(s.sheet)},
                headers,
            )
            if die and first[0]:
                first[0] = False
                if status == 0:
                    s.died = True
                    with self.lock:
                        self.died.append(time.time())
            data = data if isinstance(data, dict) else {}
            if (status == 200 and data.get("ok")) or data.get("code") == "submitted":
                s.acked_at = time.time()
                return True
            if data.get("code") == "stale":  # take.js: send every answer again, then hand in
                for batch in by_inst.values():
                    self.autosave(c, batch)
            return False

        self.retrying(s, hand_in)

    def autosave(self, c: Client, batch: list) -> bool:
        status, data = self.call(
            c, "autosave", c.post_json, "/take/api/answers/", {"answers": batch}
        )
        return status == 200 and isinstance(data, dict) and bool(data.get("ok"))


# --- the layout and the faults -------------------------------------------------------------------


class Layout:
    """Redis (the bench's own), then gunicorn, the Celery worker and (unless `beat` is False)
    celery beat under the supervisor, with the commands of docs/operations.md."""

    def __init__(self, tmp: Path, db_url: str, workers: int, beat: bool) -> None:
        self.tmp = tmp
        self.workers = workers
        (tmp / "bench_faults_settings.py").write_text(SETTINGS.format(static=str(tmp / "static")))
        (tmp / "bench_faults_urls.py").write_text(URLS)
        self.redis = RedisServer(tmp)
        self.redis.start()
        self.env = layout_env(tmp, "bench_faults_settings", db_url, self.redis.url)
        self.env["LOG_LEVEL"] = "WARNING"
        self.port = free_port()
        self.supervisor = Supervisor(self.env)
        self.supervisor.extra_pids.add(self.redis.proc.pid if self.redis.proc else 0)
        self.supervisor.add(
            Service(
                "gunicorn",
                gunicorn_command(self.port, workers, "--log-level", "warning"),
                tmp / "gunicorn.log",
            )
        )
        self.supervisor.add(
            Service("celery-worker", celery_command("worker", "-l", "info"), tmp / "worker.log")
        )
        if beat:
            self.add_beat()
        self.supervisor.start()
        if not wait_until_serving(self.port, 90):
            raise SystemExit("gunicorn did not start")

    def add_beat(self) -> None:
        schedule = self.tmp / "celerybeat-schedule"
        self.supervisor.add(
            Service(
                "celery-beat",
                celery_command("beat", "-l", "info", "--schedule", str(schedule)),
                self.tmp / "beat.log",
            )
        )

    def has_beat(self) -> bool:
        return "celery-beat" in self.supervisor.services

    def gunicorn_workers(self) -> list[int]:
        return children_of(self.supervisor.pid("gunicorn"))

    def pool(self) -> list[int]:
        return children_of(self.supervisor.pid("celery-worker"))

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Every supervised process running, gunicorn with all its workers and serving, the
        Celery worker with its pool, Redis answering."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (
                not self.supervisor.restarting()
                and self.redis.ping()
                and len(self.gunicorn_workers()) == self.workers
                and len(self.pool()) >= 1
                and wait_until_serving(self.port, 5)
                and self.worker_connected()
            ):
                return
            time.sleep(0.3)
        log(
            "warning: the layout is not ready after 90 s; the trial starts anyway ("
            f"restarting {self.supervisor.restarting()}, redis {self.redis.ping()}, gunicorn "
            f"workers {len(self.gunicorn_workers())}, pool {len(self.pool())}, "
            f"worker connected {self.worker_connected()})"
        )

    def worker_connected(self) -> bool:
        """The Celery worker's main process holds a connection to Redis (its consumer; the log's
        `ready.` line is not always written)."""
        return bool(tcp_holders([self.supervisor.pid("celery-worker")], remote=self.redis.port))

    def stop(self) -> None:
        self.supervisor.stop()
        self.redis.stop()


def wait_for(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def restarted_after(layout: Layout, name: str, moment: float, timeout: float = 30) -> float:
    """time.time() of the supervisor's restart of `name` after `moment` (or now, after
    `timeout`)."""
    service = layout.supervisor.services[name]
    found = wait_for(lambda: any(t > moment for t in service.starts), timeout)
    return (
        min((t for t in service.starts if t > moment), default=time.time())
        if found
        else time.time()
    )


def replaced(pids_of: Any, gone: int, expected: int, timeout: float = 30) -> tuple[float, str]:
    """Wait until `gone` is no longer among `pids_of()` and there are `expected` of them again
    (a new process took its place); (time.time(), note)."""
    ok = wait_for(lambda: gone not in (p := pids_of()) and len(p) >= expected, timeout)
    return time.time(), "" if ok else f"not replaced within {timeout:.0f} s"


def serving(port: int, pids: list[int]) -> list[int]:
    """The processes of `pids` holding an accepted connection on `port` (a sync worker holds one
    only while it serves a request: the response closes it)."""
    return tcp_holders(pids, local=port)


def tcp_holders(pids: list[int], local: int = 0, remote: int = 0) -> list[int]:
    """The processes of `pids` holding an established TCP connection from local port `local` or
    to remote port `remote`, from /proc/net/tcp and their file descriptors."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] != "01":  # ESTABLISHED
            continue
        if (local and fields[1].endswith(f":{local:04X}")) or (
            remote and fields[2].endswith(f":{remote:04X}")
        ):
            inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return []
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    out.append(pid)
                    break
            except OSError:
                continue
    return out


def inject(fault: str, layout: Layout, load: Load, die_count: int) -> tuple[float, str]:
    """Inject `fault` and wait until it is cleared; (time.time() of the clearing, what happened)."""
    if fault == "celery-worker":
        pid = layout.supervisor.pid("celery-worker")
        t = time.time()
        os.kill(pid, signal.SIGKILL)
        clear = restarted_after(layout, "celery-worker", t)
        return clear, f"killed worker {pid}, restarted by the supervisor after {clear - t:.1f} s"
    if fault == "celery-pool":
        pool = layout.pool()
        if not pool:
            return time.time(), "no pool process to kill"
        victim = random.choice(pool)
        t = time.time()
        os.kill(victim, signal.SIGKILL)
        clear, note = replaced(layout.pool, victim, len(pool))
        return clear, f"killed pool process {victim}, replaced after {clear - t:.1f} s {note}"
    if fault == "gunicorn-worker":
        workers = layout.gunicorn_workers()
        busy: list[int] = []

        def holding() -> bool:
            busy[:] = serving(layout.port, workers)
            return bool(busy)

        wait_for(holding, 10, 0.005)
        victim = busy[0] if busy else random.choice(workers)
        t = time.time()
        os.kill(victim, signal.SIGKILL)
        clear, note = replaced(layout.gunicorn_workers, victim, layout.workers)
        return clear, (
            f"killed gunicorn worker {victim} "
            + ("holding a request" if busy else "(none seen holding a request in 10 s)")
            + f", replaced after {clear - t:.1f} s {note}"
        )
    if fault == "die-after-commit":
        with load.lock:
            load.die_next = die_count
        t = time.time()
        wait_for(lambda: len(load.died) >= die_count or (load.die_next > 0 and not load.queue), 30)
        wait_for(lambda: len(layout.gunicorn_workers()) == layout.workers, 30)
        clear = time.time()
        return clear, (
            f"{len(load.died)} of {die_count} workers died after COMMIT; back in {clear - t:.1f} s"
        )
    if fault == "redis":
        t = time.time()
        layout.redis.shutdown_nosave()
        time.sleep(REDIS_DOWN_SECONDS)  # the outage itself
        layout.redis.start()
        layout.supervisor.extra_pids.add(layout.redis.proc.pid if layout.redis.proc else 0)
        clear = time.time()
        return clear, f"Redis down for {clear - t:.1f} s (SHUTDOWN NOSAVE, started again)"
    if fault == "db-backends":
        import psycopg

        base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(base.rsplit("/", 1)[0] + "/" + DB_NAME, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [DB_NAME],
            ).fetchall()
        clear = time.time()
        return clear, f"terminated {sum(1 for (ok,) in rows if ok)} backends"
    raise SystemExit(f"unknown fault {fault}")


# --- the checks ----------------------------------------------------------------------------------


@dataclass
class Check:
    stored: int = 0
    lost: int = 0
    doubled: int = 0
    expected_alerts: int = 0
    alerts: int = 0
    alerts_missing: int = 0
    alerts_duplicated: int = 0
    notifications_expected: int = 0
    notifications_delivered: int = 0
    notifications_missing: int = 0
    notifications_doubled: int = 0
    outbox: int = 0
    queued: int = 0
    max_delay: float = 0.0
    max_delivery_delay: float = 0.0
    wrong_level: int = 0


def quiet(assignments: list[int], flagged: set[int], since: datetime.datetime) -> bool:
    """None of the trial's hand-ins queued for its alert, nothing written to the outbox since
    `since` undelivered, an alert for every stored flagged hand-in of the trial."""
    from django.db import connection

    from xinqiao.alerts.models import Alert, PendingSubmission
    from xinqiao.notifications.models import Notification
    from xinqiao.screening.models import Response

    try:
        if PendingSubmission.objects.filter(assignment_id__in=assignments).exists():
            return False
        if Notification.objects.filter(dispatched_at__isnull=True, created_at__gte=since).exists():
            return False
        stored = set(
            Response.objects.filter(assignment_id__in=flagged).values_list(
                "assignment__student_id", flat=True
            )
        )
        have = set(Alert.objects.filter(student_id__in=stored).values_list("student_id", flat=True))
        return stored <= have
    except Exception:  # the bench's own connection may have been cut (db-backends)
        connection.close()
        return False


def check(
    students: list[Student],
    clear: datetime.datetime,
    teachers: list[int],
    since: datetime.datetime,
) -> Check:
    """The checks of one trial (its students; the outbox rows written since `since`)."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.db.models import Count

    from xinqiao.alerts import rules as rules_mod
    from xinqiao.alerts.models import Alert, AlertTrigger, PendingSubmission
    from xinqiao.alerts.services.hand_ins import RESPONSE_FIELDS, facts_of
    from xinqiao.notifications.models import Notification
    from xinqiao.screening.models import Assignment, AssignmentStatus, Response

    connection.close()
    out = Check()
    ids = [s.assignment for s in students]
    by_assignment = {s.assignment: s for s in students}
    assignments = {a.pk: a for a in Assignment.objects.filter(pk__in=ids).select_related("student")}
    responses: dict[int, list[Any]] = {}
    for r in (
        Response.objects.filter(assignment_id__in=ids)
        .only(*RESPONSE_FIELDS, "submitted_at")
        .order_by("id")
    ):
        responses.setdefault(r.assignment_id, []).append(r)
    done = {AssignmentStatus.COMPLETED, AssignmentStatus.INVALID}
    out.stored = sum(1 for a in ids if a in responses)
    for s in students:
        if s.acked_at is not None and (
            s.assignment not in responses or assignments[s.assignment].status not in done
        ):
            out.lost += 1
    for rows in responses.values():
        counts = Counter(r.instrument_code for r in rows)
        out.doubled += sum(n - 1 for n in counts.values() if n > 1)

    # expected triggers: the rules evaluated on the stored responses
    expected: dict[int, set[str]] = {}  # student id -> rules
    handed_in_at: dict[int, datetime.datetime] = {}
    for assignment_id, rows in responses.items():
        a = assignments[assignment_id]
        active = rules_mod.ruleset_for(school_id=a.school_id, stage=a.stage_band)
        outcome = rules_mod.evaluate(active.definition, facts_of(rows, lambda: None))
        handed_in_at[a.student_id] = min(r.submitted_at for r in rows)
        if outcome.hits:
            expected[a.student_id] = {h.rule for h in outcome.hits}
            top = max(outcome.hits, key=lambda h: ("yellow", "orange", "red").index(h.level))
            if top.level != by_assignment[assignment_id].kind:
                out.wrong_level += 1
        elif by_assignment[assignment_id].kind != "calm":
            out.wrong_level += 1
    out.expected_alerts = len(expected)
    student_ids = [a.student_id for a in assignments.values()]
    alerts = list(Alert.objects.filter(student_id__in=student_ids))
    out.alerts = len(alerts)
    per_student = Counter(a.student_id for a in alerts)
    out.alerts_duplicated += sum(n - 1 for n in per_student.values() if n > 1)
    out.alerts_duplicated += sum(1 for pk in per_student if pk not in expected)
    triggers: Counter[tuple[int, str]] = Counter()
    first_at: dict[int, datetime.datetime] = {}
    for student_id, rule, at in AlertTrigger.objects.filter(
        alert__student_id__in=student_ids
    ).values_list("alert__student_id", "rule", "at"):
        triggers[(student_id, rule)] += 1
        first_at[student_id] = min(at, first_at.get(student_id, at))
    for student_id, rules in expected.items():
        for rule in rules:
            n = triggers.get((student_id, rule), 0)
            out.alerts_missing += n == 0
            out.alerts_duplicated += max(0, n - 1)
    out.alerts_duplicated += sum(
        n for (pk, rule), n in triggers.items() if rule not in expected.get(pk, set())
    )
    for student_id, at in first_at.items():
        start = max(handed_in_at.get(student_id, at), clear)
        out.max_delay = max(out.max_delay, (at - start).total_seconds())

    # notifications: each alert's recipients, each once, delivered to the inbox
    alert_type = ContentType.objects.get_for_model(Alert)
    rows = list(
        Notification.objects.filter(ref_type=alert_type, ref_id__in=[a.pk for a in alerts])
        .annotate(n_inbox=Count("inbox"))
        .values_list("ref_id", "recipient_id", "dispatched_at", "n_inbox", "created_at")
    )
    got: dict[tuple[int, int], int] = Counter((ref, user) for ref, user, *_rest in rows)
    for alert in alerts:
        wanted = set(teachers) if alert.level == "red" or not alert.owner_id else {alert.owner_id}
        out.notifications_expected += len(wanted)
        for user in wanted:
            n = got.get((alert.pk, user), 0)
            out.notifications_missing += n == 0
            out.notifications_doubled += max(0, n - 1)
    for _ref, _user, dispatched, n_inbox, _created in rows:
        if dispatched is None or n_inbox != 1:
            out.notifications_missing += 1
        else:
            out.notifications_delivered += 1
    # delivery delay: the row marked dispatched (its inbox message written in that transaction)
    # minus the later of the row's writing and the clearing
    for _ref, _user, dispatched, _n, created in rows:
        if dispatched is not None:
            waited = (dispatched - max(created, clear)).total_seconds()
            out.max_delivery_delay = max(out.max_delivery_delay, waited)
    undelivered = Notification.objects.filter(dispatched_at__isnull=True, created_at__gte=since)
    out.outbox = undelivered.count()
    out.queued = PendingSubmission.objects.filter(assignment_id__in=ids).count()
    # undelivered rows about something else than the trial's alerts (counted above)
    out.notifications_missing += undelivered.exclude(
        ref_type=alert_type, ref_id__in=[a.pk for a in alerts]
    ).count()
    connection.close()
    return out


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Totals:
    hand_ins: int = 0
    lost: int = 0
    doubled: int = 0
    alerts_missing: int = 0
    alerts_duplicated: int = 0
    notifications_missing: int = 0
    max_delay: float = 0.0
    max_delivery_delay: float = 0.0
    trials: int = 0
    failed_trials: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    gave_up: int = 0


def run_trial(
    n: int,
    total: int,
    fault: str,
    timing: str,
    layout: Layout,
    students: list[Student],
    data_teachers: list[int],
    rate: float,
    threads: int,
    totals: Totals,
    pre_fault: float,
) -> None:
    from django.db import connection

    layout.wait_ready()
    connection.close()  # the bench holds no backend during the fault (db-backends)
    restarts_before = len(layout.supervisor.restart_log)
    load = Load(layout.port, students, rate, threads)
    since = now_utc()
    load.start()
    time.sleep(pre_fault)  # hand-ins in flight before the fault
    if timing == "tail":
        # the last hand-ins: no student arrives any more; the fault strikes the moment the last
        # one is acknowledged, while the kicks of the last hand-ins wait out their countdown
        load.stop()
        finished = load.join(STUDENT_GIVE_UP + 60)
        last = max((s.acked_at or 0.0 for s in students), default=0.0)
        gap = time.time() - last
        clear, what = inject(fault, layout, load, die_count=3)
        what = f"{gap:.2f} s after the last hand-in's reply: {what}"
    else:
        clear, what = inject(fault, layout, load, die_count=3)
        # students still arrive for a second after the clearing, then stop; those under way finish
        time.sleep(1.0)
        load.stop()
        finished = load.join(STUDENT_GIVE_UP + 60)
    flagged = {s.assignment for s in students if s.kind != "calm"}
    ids = [s.assignment for s in students]
    calm = wait_for(lambda: quiet(ids, flagged, since), QUIET_CAP, 0.25)
    quiet_after = time.time() - clear
    clear_at = datetime.datetime.fromtimestamp(clear, tz=datetime.UTC)
    result = check(students, clear_at, data_teachers, since)
    acked = load.acked()
    restarts = [name for _t, name in layout.supervisor.restart_log[restarts_before:]]
    beat = "beat" if layout.has_beat() else "no beat"
    gave_up = sum(1 for s in students if s.gave_up)
    die_stored = [s for s in students if s.died]
    errors = ", ".join(f"{k} {v}" for k, v in sorted(load.errors.items())) or "none"
    line = (
        f"trial {n}/{total} {fault} {timing} ({beat}): {what}; supervisor restarts: "
        f"{', '.join(restarts) or 'none'}; hand-ins {len(acked)} acknowledged of "
        f"{load.started} started ({result.stored} stored, {gave_up} gave up"
        + (
            f", {len(die_stored)} cut after COMMIT and retried"
            if fault == "die-after-commit"
            else ""
        )
        + f"); request errors: {errors}; alerts {result.alerts}/{result.expected_alerts}, "
        f"notifications {result.notifications_delivered}/{result.notifications_expected} "
        f"delivered; lost {result.lost} doubled {result.doubled} alerts_missing "
        f"{result.alerts_missing} alerts_duplicated "
        f"{result.alerts_duplicated + result.notifications_doubled} "
        f"notifications_missing {result.notifications_missing}; max alert delay "
        f"{result.max_delay:.1f} s, max delivery delay {result.max_delivery_delay:.1f} s; "
        + (f"quiet after {quiet_after:.1f} s" if calm else f"NOT quiet after {QUIET_CAP:.0f} s")
    )
    if result.queued or result.outbox:
        line += f" (still queued: {result.queued} hand-ins, {result.outbox} notifications)"
    if result.wrong_level:
        line += f" [bench: {result.wrong_level} answer sheets raised another level than meant]"
    if not finished:
        line += " [load threads still running]"
    print(line, flush=True)
    totals.trials += 1
    totals.hand_ins += len(acked)
    totals.lost += result.lost
    totals.doubled += result.doubled
    totals.alerts_missing += result.alerts_missing
    totals.alerts_duplicated += result.alerts_duplicated + result.notifications_doubled
    totals.notifications_missing += result.notifications_missing
    totals.gave_up += gave_up
    totals.errors.update(load.errors)
    # an alert still missing: its delay is at least the wait
    delay = result.max_delay if not result.alerts_missing else max(result.max_delay, quiet_after)
    totals.max_delay = max(totals.max_delay, delay)
    totals.max_delivery_delay = max(totals.max_delivery_delay, result.max_delivery_delay)
    bad = (
        result.lost
        or result.doubled
        or result.alerts_missing
        or result.alerts_duplicated
        or result.notifications_doubled
        or result.notifications_missing
        or delay > TARGET_DELAY
        or result.max_delivery_delay > TARGET_DELAY
    )
    if bad:
        totals.failed_trials.append(f"{fault} {timing} ({beat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one trial of each fault (CI)")
    parser.add_argument("--no-beat", action="store_true", help="run without celery beat")
    parser.add_argument(
        "--trials", type=int, default=0, help="trials per fault (default: 1 quick, 5 full)"
    )
    parser.add_argument("--faults", default=",".join(FAULTS), help="which faults, comma-separated")
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn sync workers (docs/operations.md: 2 x cores + 1)",
    )
    parser.add_argument(
        "--logs",
        default="",
        help="keep the processes' logs (and generated modules) in this directory",
    )
    args = parser.parse_args()
    # a SIGTERM (a CI timeout) unwinds through the `finally` that stops the layout
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    faults = [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
    trials = args.trials or (1 if args.quick else 5)
    # quick: only the configuration asked for (beat unless --no-beat); full: with and without
    configs = [False] if args.no_beat else ([True] if args.quick else [True, False])
    classes_per_trial = 2
    rate = 8.0 if args.quick else 10.0  # students starting per second
    threads = 8
    pre_fault = 2.0 if args.quick else 3.0
    # mid: the fault strikes while students hand in; tail: right after the last hand-in (the
    # back-end faults only: what they strand must be found without the kicks of later hand-ins)
    schedule = [(f, "mid") for f in faults] + [(f, "tail") for f in faults if f in TAIL_FAULTS]
    n_trials = trials * len(schedule) * len(configs)

    os.environ["SECRET_KEY"] = SECRET
    os.environ["FIELD_ENCRYPTION_KEY"] = FIELD_KEY
    os.environ["FIELD_HASH_KEY"] = HASH_KEY
    os.environ["AUDIT_CHAIN_KEY"] = AUDIT_KEY
    os.environ.pop("REDIS_URL", None)  # the bench process itself reads the database only
    db_url = use_scratch_database(DB_NAME)
    t = time.perf_counter()
    n_classes = classes_per_trial * n_trials
    data = seed(n_classes * CLASS_SIZE, n_classes, psychologists=3)
    battery = data["battery"]
    sheets = {kind: sheet_for(battery, kind) for kind in ("red", "orange", "calm")}
    by_class: list[list[Student]] = []
    for i, (pk, number, code) in enumerate(data["students"]):
        if i % CLASS_SIZE == 0:
            by_class.append([])
        kind = KINDS[i % len(KINDS)]
        by_class[-1].append(Student(pk, number, code, kind, sheets[kind]))
    log(
        f"seeded {len(data['students'])} students ({n_classes} classes with a sitting), "
        f"3 psychology teachers, in {time.perf_counter() - t:.1f}s"
    )
    totals = Totals()
    peak = 0.0
    t_run = time.perf_counter()
    n = 0
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp_name:
        tmp = Path(args.logs or tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        for beat in configs:
            layout = Layout(tmp, db_url, args.workers, beat)
            log(
                f"layout: gunicorn ({args.workers} workers) on port {layout.port}, Celery worker, "
                f"{'celery beat' if beat else 'no beat'}, Redis on port {layout.redis.port}; "
                f"{trials} trial(s) of {len(faults)} fault(s)"
            )
            try:
                for _ in range(trials):
                    for fault, timing in schedule:
                        students = [s for klass in by_class[:classes_per_trial] for s in klass]
                        del by_class[:classes_per_trial]
                        random.shuffle(students)
                        n += 1
                        run_trial(
                            n,
                            n_trials,
                            fault,
                            timing,
                            layout,
                            students,
                            data["teachers"],
                            rate,
                            threads,
                            totals,
                            pre_fault,
                        )
            finally:
                layout.stop()
                peak = max(peak, layout.supervisor.peak_mb)
                worker_log = (tmp / "worker.log").read_text(errors="replace")
                crashes = worker_log.count("Unrecoverable error")
                if crashes:
                    line = next(x for x in worker_log.splitlines() if "Unrecoverable error" in x)
                    log(f"the Celery worker logged {crashes} unrecoverable error(s): {line[:200]}")
                for name in ("worker.log", "beat.log", "gunicorn.log"):
                    path = tmp / name
                    if path.exists():
                        path.rename(tmp / f"{'beat' if beat else 'nobeat'}-{name}")
    elapsed = time.perf_counter() - t_run
    errors = ", ".join(f"{k} {v}" for k, v in sorted(totals.errors.items())) or "none"
    log(
        f"{totals.trials} trials in {elapsed:.0f} s; request errors the clients retried: {errors}; "
        f"students who gave up: {totals.gave_up}; max notification delivery delay "
        f"{totals.max_delivery_delay:.1f} s; failed trials: "
        f"{', '.join(totals.failed_trials) or 'none'}"
    )
    counts = (
        totals.lost,
        totals.doubled,
        totals.alerts_missing,
        totals.alerts_duplicated,
        totals.notifications_missing,
    )
    print(
        f"RESULT faults value={totals.hand_ins} unit=hand-ins lost={totals.lost} "
        f"doubled={totals.doubled} alerts_missing={totals.alerts_missing} "
        f"alerts_duplicated={totals.alerts_duplicated} "
        f"notifications_missing={totals.notifications_missing} "
        f"max_alert_delay_s={totals.max_delay:.1f} peak_rss_mb={peak:.0f}",
        flush=True,
    )
    late = max(totals.max_delay, totals.max_delivery_delay) > TARGET_DELAY
    if any(counts) or totals.gave_up or late:
        sys.exit(1)


if __name__ == "__main__":
    main()
