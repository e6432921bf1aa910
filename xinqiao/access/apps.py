from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "xinqiao.access"
    label = "access"
    verbose_name = _("Access")

    def ready(self) -> None:
        from xinqiao.core import navigation, rotation
        from xinqiao.core.navigation import NavItem, register

        from . import passwords, sessions, signin_audit, two_factor
        from .roles import Cap

        rotation.register_reseal(two_factor.reseal_authenticator_secrets)

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
