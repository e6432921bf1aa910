"""A Celery worker outlives a Redis restart while it holds a message (kombu 5.7.0 did not: it
crashed restoring the message after the connection was gone, and exited — pyproject pins below
it), and its own sweeps run without beat or any message (they write its heartbeat).

Real processes: a redis-server of the test's own and `celery -A config worker` on a migrated
SQLite file. Slow (a worker start and a reconnect): about 10 s."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def wait_for(log: Path, text: str, *, count: int = 1, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count(text) < count:
        assert time.monotonic() < deadline, (
            f"no {text!r} in the worker's log:\n" + log.read_text(errors="replace")[-4000:]
        )
        time.sleep(0.05)


def test_the_worker_survives_a_redis_restart_while_holding_a_message(
    redis_server, migrated_sqlite, tmp_path
):
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{migrated_sqlite}",
        "REDIS_URL": redis_server.url,
        "LOG_LEVEL": "INFO",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-l",
                "info",
                "--concurrency",
                "1",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(log, "ready.")
        client = Celery(broker=redis_server.url)
        # the worker holds it (unacknowledged) for a minute: what kombu 5.7.0 failed to restore
        client.send_task("xinqiao.notifications.tasks.dispatch_outbox", countdown=60)
        wait_for(log, "received")
        redis_server.stop()
        wait_for(log, "Cannot connect to redis")
        redis_server.start()
        wait_for(log, "Connected to redis", count=2)
        assert worker.poll() is None, "the worker exited"
        assert "Unrecoverable error" not in log.read_text(errors="replace")
        with sqlite3.connect(migrated_sqlite) as db:
            names = [row[0] for row in db.execute("SELECT name FROM core_heartbeat")]
        assert len(names) == 1
        assert names[0].startswith("worker celery@")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
