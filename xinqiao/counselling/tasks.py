"""Background work of the counselling service: escalating students' urgent requests for help
that nobody acknowledged in time (celery beat: `counselling-help-escalations` every 60 s; the
embedded scheduler runs the same schedule). Idempotent and safe to run concurrently."""

from celery import shared_task


@shared_task(name="xinqiao.counselling.tasks.run_help_escalations")
def run_help_escalations() -> int:
    from .help_services import run_help_escalations as run

    return run()
