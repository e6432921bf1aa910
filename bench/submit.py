"""Students answering and handing in: the full path under gunicorn against a minimal-view floor.

Runs the production layout of docs/operations.md on one machine — gunicorn (2 x cores + 1 sync
workers), Redis (cache and Celery broker), one Celery worker — on a scratch PostgreSQL database
with the production settings and middleware (XINQIAO_ENV=production; requests arrive as if from the
TLS proxy, with X-Forwarded-Proto: https, Origin and CSRF token), and in the same run measures:

1. floor: a minimal Django view (same server, same middleware) that parses a 40-answer JSON body
   and inserts one row through the ORM;
2. path: simulated students through the real path — sitting code + 学籍号 (POST /take/), the
   questionnaire page, one autosave batch per instrument, hand-in — requests/s and p99 at the same
   concurrency as the floor; each student's answers come from one latent severity (as in
   bench/score.py), so about half of the hand-ins raise an alert — a pessimistic share — and its
   notification is delivered by the Celery worker on the same cores; --all-flagged gives every
   student the answers of the first version of this benchmark (six alert rules each);
3. burst: 500 students handing in at the same moment (one school's labs) — p99, errors;
4. capacity: students answering at one answer every 15 s each (one autosave request per answer —
   what take.js sends at that pace), open-loop at increasing numbers of students; reports the
   largest number served with p99 ≤ 3 × the floor's p99 and no errors.

Both the floor and the path are measured after a warm-up (400 floor requests; one class of
students through the path). The load generator is Python threads with http.client on loopback.
For the floor, the path and the burst it also prints the CPU time each part of the layout spent
(gunicorn workers, PostgreSQL, the Celery worker, Redis, the load generator; read from /proc) per
request, student or hand-in: where the time goes, whatever else the machine is doing. The run
fails when the Celery worker left hand-ins queued for their alert or notifications undelivered
(an end-to-end check of the production alert chain; CI runs --quick). Prints the RESULT line
last: value = path requests/s, floor = floor requests/s.

    python bench/submit.py [--quick] [--all-flagged | --calm] [--no-capacity] [--workers N]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _common import ROOT, result_line, use_scratch_database
from _layout import (
    AUDIT_KEY,
    CLASS_SIZE,
    CSRF,
    FIELD_KEY,
    HASH_KEY,
    SECRET,
    Client,
    answer_sheet,
    bind_for_bench,
    calm_sheet,
    celery_command,
    cookie_for,
    free_port,
    gunicorn_command,
    layout_env,
    percentile,
    seed,
    stop_processes,
    wait_until_serving,
)

SETTINGS = """
from config.settings import *  # noqa: F403
ROOT_URLCONF = "bench_submit_urls"
STATIC_ROOT = {static!r}
# Static files are not part of what is measured; the manifest storage would need collectstatic.
STORAGES = {{
    **STORAGES,
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}
WHITENOISE_USE_FINDERS = True
"""
URLS = """
import json, uuid
from django.http import JsonResponse
from django.urls import path
from config.urls import urlpatterns as base
from xinqiao.screening.models import Response

def floor(request):
    data = json.loads(request.body)
    answers = [a["v"] for a in data["answers"]]
    Response.objects.create(
        assignment_id={assignment}, school_id={school}, instrument_code=uuid.uuid4().hex,
        instrument_version="1.0", answers=answers, submitted_at="2026-11-01T00:00:00Z",
        client_key=uuid.uuid4().hex,
    )
    return JsonResponse({{"ok": True}})

urlpatterns = [path("bench/floor/", floor), *base]
"""


# --- data --------------------------------------------------------------------------------------


def prefill_drafts(assignment_ids: list[int], items: list, sheets: list | None = None) -> None:
    """Saved answers of the students of the burst: their answer sheets, or (--all-flagged) the
    first version's pattern."""
    from django.utils import timezone

    from xinqiao.screening.models import AnswerDraft

    now = timezone.now()
    if sheets is None:
        rows = [
            [(code, item_id, codes[(a + j) % 2]) for j, (code, item_id, codes) in enumerate(items)]
            for a in assignment_ids
        ]
    else:
        rows = sheets
    AnswerDraft.objects.bulk_create(
        [
            AnswerDraft(
                assignment_id=a,
                instrument_code=code,
                item_id=item_id,
                answer=value,
                seconds=3.0,
                client_seq=j + 1,
                updated_at=now,
            )
            for a, sheet in zip(assignment_ids, rows, strict=True)
            for j, (code, item_id, value) in enumerate(sheet)
        ],
        batch_size=5000,
    )


# --- the server ----------------------------------------------------------------------------------


def bench_redis() -> str:
    """The Redis the production configuration needs (cache and Celery broker): a database of its
    own (BENCH_REDIS_URL, default db 14 on the local server), emptied first. Without one the app
    runs in its embedded configuration (tasks in the web process) and the run says so."""
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    if not url:
        return ""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except Exception as exc:  # any failure: no Redis to use
        print(f"no Redis at {url} ({exc}): tasks run in the web processes", flush=True)
        return ""
    return url


def start_servers(
    tmp: Path, db_url: str, redis_url: str, workers: int, floor_assignment: int, school: int
) -> tuple[list[subprocess.Popen], int]:
    """gunicorn (`workers` sync workers) and, with Redis, one Celery worker — the production
    layout of docs/operations.md on one machine: the outbox dispatcher that a hand-in raising an
    alert queues runs in the Celery worker, on the same cores."""
    (tmp / "bench_submit_settings.py").write_text(SETTINGS.format(static=str(tmp / "static")))
    (tmp / "bench_submit_urls.py").write_text(
        URLS.format(assignment=floor_assignment, school=school)
    )
    env = layout_env(tmp, "bench_submit_settings", db_url, redis_url)
    port = free_port()
    procs = []
    if redis_url:
        log = (tmp / "celery.log").open("w")  # its banner and warnings, out of the figures
        procs.append(
            subprocess.Popen(
                celery_command("worker", "-l", "warning"),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    procs.append(
        subprocess.Popen(
            gunicorn_command(
                port, workers, "--backlog", "2048", "--timeout", "60", "--log-level", "warning"
            ),
            cwd=ROOT,
            env=env,
        )
    )
    if wait_until_serving(port):
        return procs, port
    for proc in procs:
        proc.kill()
    raise SystemExit("gunicorn did not start")


def stop_servers(procs: list[subprocess.Popen]) -> None:
    stop_processes(procs)


class CpuMeter:
    """CPU seconds spent by each part of the layout between readings, from /proc: the gunicorn and
    Celery process trees, every postgres and redis-server process, and this load generator."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, procs: list[subprocess.Popen]) -> None:
        self.roots = {p.pid: ("celery" if "celery" in str(p.args) else "web") for p in procs}
        self.last = self.read()

    def read(self) -> dict[str, float]:
        stats: dict[int, tuple[str, int, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            stats[int(entry)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])))
        parts = dict.fromkeys(("web", "postgres", "celery", "redis", "load generator"), 0.0)
        for pid, (comm, _ppid, ticks) in stats.items():
            part, seen = None, pid
            while seen and part is None and seen in stats:
                part = self.roots.get(seen)
                seen = stats[seen][1]
            if part is None and comm == "postgres":
                part = "postgres"
            elif part is None and comm.startswith("redis-server"):
                part = "redis"
            elif pid == os.getpid():
                part = "load generator"
            if part:
                parts[part] += ticks / self.TICK
        return parts

    def lap(self) -> dict[str, float]:
        now = self.read()
        spent = {k: now[k] - self.last.get(k, 0.0) for k in now}
        self.last = now
        return spent

    def report(self, label: str, per: int, what: str) -> None:
        spent = self.lap()
        total = sum(spent.values())
        parts = ", ".join(f"{k} {1000 * v / per:.1f}" for k, v in spent.items())
        print(f"  CPU per {what} ({label}): {1000 * total / per:.1f} ms = {parts}", flush=True)


# --- the load generator --------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    def timed(self, kind: str, call, *args, ok=(200,)):
        t = time.perf_counter()
        try:
            status, headers, body = call(*args)
        except OSError:
            status, headers, body = 0, {}, b""
        dt = time.perf_counter() - t
        with self.lock:
            self.latencies.setdefault(kind, []).append(dt)
            if status not in ok:
                self.errors[kind] = self.errors.get(kind, 0) + 1
        return status, headers, body

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def error_count(self) -> int:
        return sum(self.errors.values())


def run_threads(n: int, target) -> float:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def measure_floor(
    port: int, total: int, concurrency: int, max_seconds: float = 1e9
) -> tuple[float, float, int]:
    rec = Recorder()
    body = {
        "answers": [
            {"i": "PHQ-A", "q": str(i % 9 + 1), "v": i % 4, "s": 3.2, "n": i + 1} for i in range(40)
        ]
    }
    per = total // concurrency
    stop_at = time.perf_counter() + max_seconds

    def worker(_i: int) -> None:
        c = Client(port)
        for _ in range(per):
            if time.perf_counter() > stop_at:
                return
            rec.timed("floor", c.post_json, "/bench/floor/", body)

    elapsed = run_threads(concurrency, worker)
    assert rec.error_count() == 0, rec.errors
    return len(rec.all()) / elapsed, percentile(rec.all(), 99), len(rec.all())


def measure_path(
    port: int, students: list, sheets: dict, concurrency: int, max_seconds: float = 1e9
) -> tuple[float, float, Recorder, int]:
    """Each student: sign in with the sitting code, load the questionnaire, one autosave batch per
    instrument (the student's answer sheet), hand in."""
    rec = Recorder()
    lock = threading.Lock()
    queue = list(students)
    stop_at = time.perf_counter() + max_seconds
    done = [0]

    def worker(_i: int) -> None:
        while True:
            with lock:
                if not queue or time.perf_counter() > stop_at:
                    return
                done[0] += 1
                pk, number, sitting_code = queue.pop()
            c = Client(port)
            form = (
                f"code={sitting_code}&student_number={number}&csrfmiddlewaretoken={CSRF}".encode()
            )
            _status, headers, _ = rec.timed(
                "enter",
                c.send,
                "POST",
                "/take/",
                form,
                "application/x-www-form-urlencoded",
                ok=(302,),
            )
            cookie = headers.get("Set-Cookie", "")
            c.take = cookie.split("xq_take=", 1)[1].split(";", 1)[0] if "xq_take=" in cookie else ""
            rec.timed("page", c.get, "/take/q/")
            by_inst: dict[str, list] = {}
            for seq, (code, item_id, value) in enumerate(sheets[pk], start=1):
                entry = {"i": code, "q": item_id, "v": value, "s": 3.1, "n": seq}
                by_inst.setdefault(code, []).append(entry)
            seq = len(sheets[pk])
            for batch in by_inst.values():
                rec.timed("autosave", c.post_json, "/take/api/answers/", {"answers": batch})
            key = uuid.uuid4().hex
            rec.timed("submit", c.post_json, "/take/api/submit/", {"client_key": key, "seq": seq})

    elapsed = run_threads(concurrency, worker)
    n = len(rec.all())
    return n / elapsed, percentile(rec.all(), 99), rec, done[0]


def measure_burst(port: int, assignment_ids: list[int]) -> tuple[float, float, int, float]:
    rec = Recorder()
    clients = [Client(port, cookie_for(a)) for a in assignment_ids]
    barrier = threading.Barrier(len(clients))

    def worker(i: int) -> None:
        c = clients[i]
        barrier.wait()
        rec.timed(
            "submit",
            lambda: c.post_json("/take/api/submit/", {"client_key": uuid.uuid4().hex, "seq": 0}),
        )

    elapsed = run_threads(len(clients), worker)
    return percentile(rec.all(), 99), max(rec.all()), rec.error_count(), elapsed


def measure_capacity(
    port: int,
    assignment_ids: list[int],
    items: list,
    students: int,
    seconds: float,
    threads: int = 64,
) -> tuple[float, float, int, float]:
    """Open loop: `students` answering one item every 15 s each (students/15 autosaves/s)."""
    rate = students / 15.0
    total = int(rate * seconds)
    rec = Recorder()
    cookies = [cookie_for(a) for a in assignment_ids]
    start = time.perf_counter() + 0.2
    seq_base = int(time.time() * 1000)

    def worker(t: int) -> None:
        c = Client(port)
        for k in range(t, total, threads):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            c.take = cookies[k % len(cookies)]
            code, item_id, codes = items[k % len(items)]
            body = {
                "answers": [
                    {
                        "i": code,
                        "q": item_id,
                        "v": codes[k % len(codes)],
                        "s": 9.5,
                        "n": seq_base + k,
                    }
                ]
            }
            t0 = time.perf_counter()
            try:
                status, _, _ = c.post_json("/take/api/answers/", body)
            except OSError:
                status = 0
            # latency from when the request was due: queueing in the generator counts against us
            done = time.perf_counter()
            with rec.lock:
                rec.latencies.setdefault("autosave", []).append(done - min(due, t0))
                if status != 200:
                    rec.errors["autosave"] = rec.errors.get("autosave", 0) + 1
                if 400 <= status < 500:  # refused, not overloaded: the benchmark itself is wrong
                    rec.errors["refused"] = rec.errors.get("refused", 0) + 1

    elapsed = run_threads(threads, worker)
    if rec.errors.get("refused"):
        raise SystemExit(f"capacity: {rec.errors['refused']} autosaves refused (4xx)")
    return percentile(rec.all(), 99), total / elapsed, rec.errors.get("autosave", 0), rate


def production_workers() -> int:
    """docs/operations.md: gunicorn's usual 2 x cores + 1 sync workers."""
    return 2 * (os.cpu_count() or 1) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--all-flagged",
        action="store_true",
        help="every student's answers fire six alert rules (the first version's answers)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=production_workers(),
        help="gunicorn sync workers (default: what docs/operations.md recommends, 2 x cores + 1)",
    )
    parser.add_argument(
        "--calm",
        action="store_true",
        help="every answer is the lowest code: no hand-in raises an alert (the path's own cost)",
    )
    parser.add_argument(
        "--no-capacity", action="store_true", help="skip the capacity steps (while profiling)"
    )
    args = parser.parse_args()
    quick = args.quick
    floor_requests = 2000 if quick else 20000
    path_students = 60 if quick else 1000
    burst = 100 if quick else 500
    capacity_steps = [500, 1000] if quick else [2500, 5000, 7500, 10000, 15000]
    if args.no_capacity:
        capacity_steps = []
    capacity_seconds = 4.0 if quick else 15.0
    pool = max(capacity_steps, default=0) if not quick else 1000
    warm_students = CLASS_SIZE  # one class through the real path first, as the floor's warm-up
    n_students = warm_students + path_students + burst + pool + 1
    concurrency = 16
    time_box = 15.0 if quick else 40.0  # seconds per phase at most (a loaded machine is slow)

    os.environ["SECRET_KEY"] = SECRET
    os.environ["FIELD_ENCRYPTION_KEY"] = FIELD_KEY
    os.environ["FIELD_HASH_KEY"] = HASH_KEY
    os.environ["AUDIT_CHAIN_KEY"] = AUDIT_KEY
    # BENCH_SUBMIT_DB: another name when several checkouts share the PostgreSQL server.
    db_url = use_scratch_database(os.environ.get("BENCH_SUBMIT_DB", "xinqiao_bench_submit"))
    t0 = time.perf_counter()
    data = seed(n_students, math.ceil((warm_students + path_students) / CLASS_SIZE))
    students = data["students"]
    in_sittings = [s for s in students if s[2]]
    warm_set, path_set = in_sittings[:warm_students], in_sittings[warm_students:][:path_students]
    rest = [s for s in students if not s[2]]
    floor_assignment = rest[0][0]
    burst_ids = [s[0] for s in rest[1 : 1 + burst]]
    pool_ids = [s[0] for s in rest[1 + burst : 1 + burst + pool]]
    rng = None if args.all_flagged else random.Random(20261129)
    sheets = {pk: answer_sheet(data["battery"], rng) for pk, _n, _c in warm_set + path_set}
    burst_sheets = None if rng is None else [answer_sheet(data["battery"], rng) for _ in burst_ids]
    if args.calm:
        sheets = {pk: calm_sheet(data["battery"]) for pk in sheets}
        burst_sheets = [calm_sheet(data["battery"]) for _ in burst_ids]
    prefill_drafts(burst_ids, data["items"], burst_sheets)
    bind_for_bench(burst_ids + pool_ids)  # their cookies carry the nonce a sign-in would store
    print(f"seeded {len(students)} students in {time.perf_counter() - t0:.1f}s", flush=True)

    redis_url = bench_redis()
    print(
        f"server: gunicorn, {args.workers} sync workers; "
        + ("Redis cache and broker, 1 Celery worker" if redis_url else "no Redis (embedded tasks)"),
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        procs, port = start_servers(
            Path(tmp), db_url, redis_url, args.workers, floor_assignment, data["school"]
        )
        try:
            measure_floor(port, 400, concurrency)  # warm-up: connections, code paths
            cpu = CpuMeter(procs)
            floor_rps, floor_p99, floor_n = measure_floor(
                port, floor_requests, concurrency, time_box
            )
            print(f"floor: {floor_rps:.0f} requests/s, p99 {floor_p99 * 1000:.1f} ms", flush=True)
            cpu.report("floor", floor_n, "request")

            # warm-up, as for the floor: every worker has run the path's code once
            measure_path(port, warm_set, sheets, concurrency)
            cpu.lap()
            path_rps, path_p99, rec, n = measure_path(port, path_set, sheets, concurrency, time_box)
            print(
                f"path: {n} students, {path_rps:.0f} requests/s, p99 {path_p99 * 1000:.1f} ms, "
                f"errors {rec.error_count()}",
                flush=True,
            )
            for kind, values in rec.latencies.items():
                print(
                    f"  {kind:9s} n={len(values):5d} p50={percentile(values, 50) * 1000:6.1f} ms "
                    f"p99={percentile(values, 99) * 1000:6.1f} ms",
                    flush=True,
                )

            cpu.report("path", n, "student")
            b_p99, b_max, b_err, b_elapsed = measure_burst(port, burst_ids)
            time.sleep(3)  # the notifications the burst queued are delivered
            print(
                f"burst: {burst} hand-ins at once: p99 {b_p99 * 1000:.0f} ms, "
                f"max {b_max * 1000:.0f} ms, "
                f"errors {b_err}, all done in {b_elapsed:.1f}s",
                flush=True,
            )
            cpu.report("burst, with 3 s of delivery after it", burst, "hand-in")

            target = 3 * floor_p99
            served = 0
            for step_students in capacity_steps:
                p99, achieved, errors, rate = measure_capacity(
                    port, pool_ids, data["items"], step_students, capacity_seconds
                )
                ok = errors == 0 and p99 <= target and achieved >= 0.95 * rate
                print(
                    f"capacity: {step_students} students ({rate:.0f} autosaves/s wanted, "
                    f"{achieved:.0f}/s sent): p99 {p99 * 1000:.1f} ms, errors {errors} -> "
                    f"{'OK' if ok else 'over target'}",
                    flush=True,
                )
                if not ok:
                    break
                served = step_students
            print(
                f"capacity: served {served} concurrent students within p99 <= "
                f"{target * 1000:.0f} ms (3 x floor p99)",
                flush=True,
            )
        finally:
            stop_servers(procs)
    from django.db import connection

    from xinqiao.alerts.models import Alert, PendingSubmission
    from xinqiao.notifications.models import Notification
    from xinqiao.screening.models import Assignment, AssignmentStatus, Response

    print(f"responses stored: {Response.objects.count()} (floor rows included)", flush=True)
    handed_in = Assignment.objects.filter(
        status__in=[AssignmentStatus.COMPLETED, AssignmentStatus.INVALID]
    ).count()
    alerts = Alert.objects.count()
    pending = Notification.objects.filter(dispatched_at__isnull=True).count()
    print(
        f"notifications: {Notification.objects.count() - pending} delivered, {pending} not yet",
        flush=True,
    )
    print(
        f"hand-ins: {handed_in}, of which raised an alert: {alerts} "
        f"({100 * alerts / max(handed_in, 1):.0f} %; answers: "
        f"{'--all-flagged' if args.all_flagged else '--calm' if args.calm else 'latent severity'})",
        flush=True,
    )
    queued = PendingSubmission.objects.count()
    print(f"hand-ins still queued for their alert: {queued}", flush=True)
    connection.close()
    # The run is also an end-to-end check of the production alert chain (queue → Celery worker →
    # alert → outbox → inbox): it fails when something stayed behind.
    if queued or pending or (alerts == 0 and not args.calm):
        raise SystemExit("the Celery worker left hand-ins or notifications behind")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of a server process: {children:.0f} MB", flush=True)
    print(
        f"targets: ratio >= 0.5 -> {path_rps / floor_rps:.2f}; p99 <= 3 x floor -> "
        f"{path_p99 / floor_p99:.1f} x; burst p99 <= 2 s -> {b_p99:.2f} s, errors {b_err}; "
        f"concurrent students >= 5000 -> {served}",
        flush=True,
    )
    print(result_line("submit", path_rps, "requests/s", floor_rps))


if __name__ == "__main__":
    main()
