import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from xinqiao.core import crypto
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


class RoleRequest(models.Model):
    """A role that needs a second person (access/grants.py): asked for by one system
    administrator, given only when another approves it."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_requests"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    reason = models.CharField(_("reason"), max_length=300)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    approved = models.BooleanField(null=True)

    class Meta:
        verbose_name = _("role request")
        verbose_name_plural = _("role requests")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "org_unit"],
                condition=models.Q(decided_at__isnull=True),
                name="rolerequest_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.role} @ {self.org_unit_id}"


class PasswordState(models.Model):
    """Whether the user must choose a new password before anything else (issue 13): set when an
    administrator or an import sets the password, cleared when the user changes it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="password_state",
    )
    must_change = models.BooleanField(_("must change password"), default=False)
    set_by_other_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("password state")
        verbose_name_plural = _("password states")

    def __str__(self) -> str:
        return f"{self.user}: {'must change' if self.must_change else 'ok'}"


class UserSession(models.Model):
    """One signed-in session of a user, for the list of one's own sessions (access/sessions.py).

    `session_key` is the Django session's key, as the session table itself holds it: signing a
    session out deletes that session. Forms name a session by `public_id`, never by its key."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    public_id = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")
        indexes = [models.Index(fields=["user", "last_seen"], name="usersession_user_seen")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.ip} since {self.created_at:%Y-%m-%d %H:%M}"


class SealedTOTPDevice(TOTPDevice):  # type: ignore[misc]  # django-otp is untyped
    """django-otp's authenticator device with its secret stored encrypted (core/crypto.py) and
    bound to its user: `key` holds a sealed token (80 characters fit the column for 20-byte
    secrets), never the hex secret. Every device is made and read through this class."""

    class Meta:
        proxy = True

    def _aad(self) -> bytes:
        return crypto.field_aad("otp_totp_totpdevice", "key", self.user_id)

    @property
    def bin_key(self) -> bytes:
        return crypto.open_token(self.key, aad=self._aad())

    def set_secret(self, secret: bytes) -> None:
        self.key = crypto.seal_token(secret, aad=self._aad())

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.key.startswith("v2:"):  # django-otp's default: a fresh hex secret
            self.set_secret(bytes.fromhex(self.key))
        super().save(*args, **kwargs)


class StaffInvitation(models.Model):
    """A one-time, expiring invitation with which a staff member sets up their own account
    (access/staffing.py). Only the SHA-256 of the code is stored; the code is shown once to the
    inviting administrator (a link or a printable code), never a shared password."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    staff = models.ForeignKey("people.Staff", on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, blank=True)
    role_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff invitation")
        verbose_name_plural = _("staff invitations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.staff} ({self.created_at:%Y-%m-%d})"
