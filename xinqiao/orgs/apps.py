from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "xinqiao.orgs"
    label = "orgs"
    verbose_name = _("Organisations")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import navigation
        from xinqiao.core.navigation import NavItem, register

        register(
            NavItem(
                "orgs:tree",
                _("Schools and classes"),
                Cap.VIEW_ORG_TREE,
                "diagram-3",
                _("Browse the city, districts, schools, grades and classes."),
                group=navigation.ADMIN,
            )
        )
        register(
            NavItem(
                "orgs:term-list",
                _("Terms"),
                Cap.MANAGE_TERMS,
                "calendar",
                _("Create school terms and set the current one."),
                group=navigation.ADMIN,
            )
        )
