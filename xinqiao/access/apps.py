from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "xinqiao.access"
    label = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        from xinqiao.core import navigation
        from xinqiao.core.navigation import NavItem, register

        from . import passwords, sessions, signin_audit
        from .roles import Cap

        signin_audit.connect()
        sessions.connect()
        passwords.connect()

        register(
            NavItem(
                "access:account-list",
                _("Accounts"),
                Cap.MANAGE_ACCOUNTS,
                "people",
                _("User accounts, roles, password resets and unlocking."),
                group=navigation.ADMIN,
            )
        )
