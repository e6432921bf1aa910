from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "xinqiao.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.core.signals import request_started

        from .scheduler import start_once

        # the embedded default's periodic work starts with the first request (never at import)
        request_started.connect(start_once, dispatch_uid="core-scheduler-start")
