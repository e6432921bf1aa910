from django.urls import path

from . import views

app_name = "partners"
urlpatterns = [
    path("department/", views.department_home, name="department-home"),
    path("department/online-tip/", views.online_tip, name="online-tip"),
    path("department-accounts/", views.department_accounts, name="department-accounts"),
    path(
        "department-accounts/<uuid:code>/end/",
        views.department_account_end,
        name="department-account-end",
    ),
    path("expert/", views.expert_home, name="expert-home"),
    path("expert/<uuid:code>/", views.expert_case, name="expert-case"),
    path("cases/<uuid:code>/experts/", views.case_experts, name="case-experts"),
    path(
        "cases/<uuid:code>/experts/<uuid:grant>/revoke/",
        views.expert_revoke,
        name="expert-revoke",
    ),
    path("hospital-areas/", views.hospital_areas, name="hospital-areas"),
    path("hospital-areas/<uuid:code>/end/", views.hospital_area_end, name="hospital-area-end"),
    path("referral-summary/", views.referral_summary, name="referral-summary"),
    path("referrals/<uuid:code>/advice/", views.plan_advice, name="plan-advice"),
]
