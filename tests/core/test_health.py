"""The operators' report — /healthz, `manage.py health` — and the worklist warning that reads it."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.redis_server import free_port
from xinqiao.core.scheduler import beat
from xinqiao.notifications import services as notifications
from xinqiao.notifications.models import Notification

pytestmark = pytest.mark.django_db


def healthz() -> tuple[int, dict]:
    response = Client().get("/healthz")  # no sign-in: monitoring asks
    return response.status_code, json.loads(response.content)


def test_a_quiet_embedded_default_is_healthy():
    status, doc = healthz()
    assert status == 200
    assert doc["status"] == "ok"
    assert set(doc["checks"]) == {"database", "redis", "worker", "hand_ins", "notifications"}
    assert doc["checks"]["hand_ins"]["age_s"] == 0


def test_production_needs_a_worker_that_reported_lately(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    status, doc = healthz()
    assert (status, doc["checks"]["worker"]["ok"]) == (503, False)
    beat("worker celery@web1")
    status, doc = healthz()
    assert status == 200
    assert "celery@web1" in doc["checks"]["worker"]["detail"]
    from xinqiao.core.models import Heartbeat

    Heartbeat.objects.update(at=timezone.now() - datetime.timedelta(minutes=5))
    status, doc = healthz()
    assert status == 503
    assert doc["checks"]["worker"]["age_s"] >= 300


def test_an_unreachable_redis_fails_its_check_only(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    status, doc = healthz()
    assert status == 503
    assert [name for name, c in doc["checks"].items() if not c["ok"]] == ["redis"]
    assert "Connection" in doc["checks"]["redis"]["detail"]


def test_a_live_redis_passes(settings, redis_server):
    settings.REDIS_URL = redis_server.url
    assert healthz()[1]["checks"]["redis"]["ok"]


def test_an_old_undelivered_notification_fails_and_warns_every_worklist(world, client_for):
    with transaction.atomic():
        notifications.notify(recipients=[world.psych], kind="t", subject="s")
    assert healthz()[0] == 200  # just written
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=3))
    status, doc = healthz()
    assert status == 503
    assert doc["checks"]["notifications"]["age_s"] >= 180
    # every school's alert staff are told: delivery stalls for all of them
    for user in (world.psych, world.psych_b):
        page = client_for(user).get("/alerts/").content.decode()
        assert 'data-testid="alerts-chain-stalled"' in page
        assert "a notification has waited 3 minutes to be delivered" in page
    notifications.dispatch_outbox()
    assert healthz()[0] == 200
    assert "alerts-chain-stalled" not in client_for(world.psych).get("/alerts/").content.decode()


def test_the_report_names_no_one(world, settings):
    from tests.alerts.test_pending import extra_students, hand_in

    settings.ALERTS_RAISE_INLINE = False
    [assignment] = extra_students(world, 1)
    hand_in(world, assignment)
    body = Client().get("/healthz").content.decode()
    student = assignment.student
    assert student.name not in body
    assert str(student.student_number) not in body
    assert json.loads(body)["checks"]["hand_ins"]["ok"]


def test_the_command_prints_each_check_and_fails_when_one_does(settings, capsys):
    call_command("health")
    out = capsys.readouterr().out
    assert "database" in out
    assert "notifications" in out
    settings.CELERY_TASK_ALWAYS_EAGER = False  # production without any worker
    with pytest.raises(CommandError, match="worker"):
        call_command("health", "--json")
    assert json.loads(capsys.readouterr().out)["worker"]["ok"] is False


def test_only_narrows_the_report_for_a_watchdog(settings, capsys):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with pytest.raises(CommandError, match="unhealthy: worker"):
        call_command("health", "--only", "worker")
    assert capsys.readouterr().out.split()[1:2] == ["worker"]
    beat("worker celery@w1")
    call_command("health", "--only", "worker")  # healthy: exit 0
    with pytest.raises(CommandError, match="no such check: wrokr"):
        call_command("health", "--only", "wrokr")
