"""The forms of the cases pages, split like the views (care, lifecycle, referrals, schooling)."""

from .care import (
    AcknowledgementForm,
    FollowUpForm,
    GuardianContactForm,
    SupportPlanForm,
    TeamMemberForm,
)
from .lifecycle import CaseFilterForm, StepDownDecisionForm, StepDownRequestForm
from .referrals import CancelForm, FeedbackForm, PaperFeedbackForm, ReferralForm, SeenForm
from .schooling import (
    GroupSessionForm,
    IncidentCampaignForm,
    IncidentForm,
    ReturnForm,
    SuspensionForm,
    SweepForm,
    SweepReviewForm,
    TransferRequestForm,
)

__all__ = [
    "AcknowledgementForm",
    "CancelForm",
    "CaseFilterForm",
    "FeedbackForm",
    "FollowUpForm",
    "GroupSessionForm",
    "GuardianContactForm",
    "IncidentCampaignForm",
    "IncidentForm",
    "PaperFeedbackForm",
    "ReferralForm",
    "ReturnForm",
    "SeenForm",
    "StepDownDecisionForm",
    "StepDownRequestForm",
    "SupportPlanForm",
    "SuspensionForm",
    "SweepForm",
    "SweepReviewForm",
    "TeamMemberForm",
    "TransferRequestForm",
]
