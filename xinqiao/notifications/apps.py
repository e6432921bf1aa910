from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "xinqiao.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import health
        from xinqiao.core.navigation import NavItem, register, register_badge

        from .selectors import oldest_undelivered, unread_count

        health.register(
            "notifications",
            lambda: health.oldest_age("notifications", oldest_undelivered(), what="notification"),
        )

        register(
            NavItem(
                "notifications:inbox",
                _("Inbox"),
                None,
                "inbox",
                _("Your notifications."),
                order=1,
                badge="inbox_unread",
                hidden_for=Cap.VIEW_OWN_CHILDREN,  # a parent reads them as "school messages"
            )
        )
        register_badge("inbox_unread", lambda principal: unread_count(user=principal.user))
