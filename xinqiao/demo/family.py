"""The demo parent's side (docs/demo.md, "The parent"): `demo_parent_mhyc`'s child is in a class
whose start-of-term screening asks for guardian consent, and the school has sent the parent a
message about it. Made through the real services (create_campaign, open_campaign, notify), so
the assignments wait in "no consent" until the parent (or the school) answers."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from xinqiao.notifications.services import notify
from xinqiao.orgs.models import Term
from xinqiao.people.models import Guardian
from xinqiao.screening import services as screening_services
from xinqiao.screening.models import CampaignKind, ConsentBasis

DEMO_PARENT = "demo_parent_mhyc"
DEMO_PSYCH = "demo_psych_mhyc_1"


def seed_demo_family() -> dict[str, int]:
    """Open the consent campaign for the demo parent's child's class; call inside the demo
    city's transaction. Returns counts for the summary."""
    guardian = (
        Guardian.objects.select_related("student__school", "student__school_class")
        .filter(user__username=DEMO_PARENT)
        .first()
    )
    term = Term.objects.current()
    if guardian is None or term is None:
        return {}
    child = guardian.student
    school_class = child.school_class
    if school_class is None:
        return {}
    psych = get_user_model().objects.get(username=DEMO_PSYCH)
    now = timezone.now()
    campaign = screening_services.create_campaign(
        actor=psych,
        name=f"{school_class.name}新学期心理健康筛查",
        term=term,
        kind=CampaignKind.TERM_START,
        owner_unit=child.school,
        units=[school_class],
        opens_at=now - datetime.timedelta(days=1),
        closes_at=now + datetime.timedelta(days=14),
        consent_basis=ConsentBasis.GUARDIAN_CONSENT,
        legal_basis_note="",
    )
    assigned = screening_services.open_campaign(actor=psych, campaign=campaign)
    notify(
        recipients=[guardian.user],
        kind="family.consent_requested",
        subject=f"请为{child.name}参加“{campaign.name}”确认是否同意",
        body="学校将用简短问卷了解学生的心理健康状况。请在“我的孩子”页面选择同意或不同意。",
        url=reverse("family:child-detail", args=[child.code]),
        ref=campaign,
    )
    return {"consent_campaigns": 1, "consent_assignments": assigned}
