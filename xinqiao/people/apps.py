from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "xinqiao.people"
    label = "people"
    verbose_name = _("People")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import navigation, rotation
        from xinqiao.core.navigation import NavItem, register

        from . import committee_registry as _committee_registry  # the committee import
        from . import group_registry as _group_registry  # the school groups import
        from . import guardian_registry as _guardian_registry  # registers the guardians import
        from .search import rehash_students
        from .staffing import registry as _staff_registry  # registers the staff import

        del _staff_registry, _guardian_registry, _committee_registry, _group_registry

        rotation.register_rehash(rehash_students)

        register(
            NavItem(
                "people:student-list",
                _("Students"),
                Cap.VIEW_STUDENTS,
                "people",
                _("Find a student by name or national student number."),
                group=navigation.ADMIN,
            )
        )
        register(
            NavItem(
                "people:staff-list",
                _("Staff"),
                Cap.VIEW_STAFF,
                "person-badge",
                _("Psychology teachers, head teachers and other staff."),
                group=navigation.ADMIN,
            )
        )
        register(
            NavItem(
                "imports:job-list",
                _("Roster import"),
                Cap.IMPORT_ROSTER,
                "upload",
                _("Import the student roster from the student-status system (CSV or Excel)."),
                group=navigation.ADMIN,
            )
        )
