from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xinqiao.orgs.models import OrgUnit

from .roles import Role


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def active(self) -> "RoleAssignmentQuerySet":
        return self.filter(is_active=True, org_unit__is_active=True)


class RoleAssignment(models.Model):
    """A user holds a role at an org unit; the unit bounds what the role can see."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="role_assignments", verbose_name=_("unit")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "org_unit"], name="roleassignment_unique"
            )
        ]
        indexes = [models.Index(fields=["org_unit", "role"], name="roleassignment_unit_role")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.org_unit}"
