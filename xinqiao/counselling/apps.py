from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CounsellingConfig(AppConfig):
    name = "xinqiao.counselling"
    label = "counselling"
    verbose_name = _("Counselling service")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.alerts.hooks import register_owner_resolver
        from xinqiao.core import navigation
        from xinqiao.core.navigation import NavItem, register
        from xinqiao.people.profile import register_section

        from .selectors import duty_owners_for_students
        from .views import archive_section

        # After the cases app's resolver (INSTALLED_APPS order): an open case's owner wins; else
        # the counsellor on duty at the student's school.
        register_owner_resolver(duty_owners_for_students)
        register(
            NavItem(
                "counselling:home",
                _("Counselling"),
                Cap.VIEW_COUNSELLING,
                "calendar-check",
                _("Duty rosters, who is on duty now, counsellors' availability and appointments."),
                group=navigation.COUNSELLING,
            )
        )
        register(
            NavItem(
                "counselling:sessions",
                _("Counselling sessions"),
                Cap.COUNSEL,
                "journal-text",
                _("Session records with their confidential process notes, and supervision."),
                group=navigation.COUNSELLING,
            )
        )
        register_section(archive_section)  # the student's archive: sessions at the reader's tier
        register(
            NavItem(
                "counselling:help-inbox",
                _("Requests for help"),
                Cap.RESPOND_TO_HELP,
                "life-preserver",
                _("Students' own requests for help: acknowledge, book, raise an alert."),
                group=navigation.COUNSELLING,
            )
        )
