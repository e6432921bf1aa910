from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "xinqiao.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from xinqiao.core.navigation import NavItem, register

        register(
            NavItem("notifications:inbox", _("Inbox"), None, "inbox", _("Your notifications."))
        )
