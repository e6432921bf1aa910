from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MentoringConfig(AppConfig):
    name = "xinqiao.mentoring"
    label = "mentoring"
    verbose_name = _("Mentor system")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap, Tier
        from xinqiao.access.scope import register_cap_scope
        from xinqiao.core import navigation
        from xinqiao.core.navigation import NavItem, register

        from .selectors import mentees_q

        # A mentor sees exactly their current mentees, at T1 (roster data), in the access layer.
        register_cap_scope(Cap.MENTOR_STUDENTS, mentees_q, tier=Tier.T1)
        register(
            NavItem(
                "mentoring:home",
                _("My mentees"),
                Cap.MENTOR_STUDENTS,
                "people",
                _("The students you mentor this term and your talk logs with them."),
                group=navigation.COUNSELLING,
            )
        )
        register(
            NavItem(
                "mentoring:coverage",
                _("Mentor coverage"),
                Cap.MANAGE_MENTORS,
                "diagram-3",
                _("Assign mentors by class; students without a mentor, mentors without a talk."),
                group=navigation.COUNSELLING,
            )
        )
