from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:  # models cannot be imported before the app registry is ready
    from xinqiao.access.scope import Principal


class ScreeningConfig(AppConfig):
    name = "xinqiao.screening"
    label = "screening"
    verbose_name = _("Screening")

    def ready(self) -> None:
        from xinqiao.access.roles import Cap
        from xinqiao.core import navigation
        from xinqiao.core.home import HomePanelSpec, register_home_panel
        from xinqiao.core.navigation import NavItem, register
        from xinqiao.people.profile import register_section
        from xinqiao.people.signals import students_changed

        from .home import campaigns_panel

        register_home_panel(
            HomePanelSpec("screening.campaigns", Cap.VIEW_SCREENING_PROGRESS, campaigns_panel, 60)
        )
        students_changed.connect(_sync_assignments, dispatch_uid="screening-sync-assignments")
        register_section(_archive_section)

        register(
            NavItem(
                "screening:campaign-list",
                _("Screening campaigns"),
                Cap.VIEW_SCREENING_PROGRESS,
                "clipboard-check",
                _("Plan screening campaigns, follow progress and read results."),
                group=navigation.MONITORING,
            )
        )
        register(
            NavItem(
                "screening:my-classes",
                _("My class progress"),
                Cap.VIEW_CLASS_PROGRESS,
                "list-check",
                _("Who in my class has not yet taken the screening questionnaire."),
                group=navigation.MONITORING,
            )
        )


def _sync_assignments(sender: object, *, school_ids: list[int] | None, **kwargs: object) -> None:
    """Students who joined the scope of an open campaign get their assignment at once."""
    from .services import sync_open_campaigns

    sync_open_campaigns(school_ids=school_ids)


def _archive_section(principal: Principal, student: Any) -> Any:
    """Screening history on the student profile, for users who may read results (T3)."""
    from xinqiao.access.roles import Tier
    from xinqiao.people.profile import ProfileSection

    from .views import archive_context

    if principal.tier_for(student) < Tier.T3:
        return None
    return ProfileSection(
        template="screening/_student_archive.html",
        context=archive_context(principal=principal, student=student),
        fields_read=("screening_responses",),
    )
