import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("xinqiao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _start_sweeps(sender: object = None, **kwargs: object) -> None:
    from xinqiao.core.scheduler import start_worker_sweeps

    start_worker_sweeps(sender, **kwargs)
