"""The partners app's navigation entries (core/navigation.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xinqiao.access.roles import Cap
from xinqiao.core import navigation
from xinqiao.core.navigation import NavItem

NAV_ITEMS = [
    NavItem(
        "partners:department-home",
        _("Figures of my area"),
        Cap.VIEW_DEPARTMENT_FIGURES,
        "bar-chart",
        _("Aggregate figures of your area for your department: never a named child."),
        order=5,
        group=navigation.INDICATORS,
    ),
    NavItem(
        "partners:expert-home",
        _("Cases I am invited to"),
        Cap.VIEW_GRANTED_CASES,
        "person-badge",
        _("The cases you are invited to for a case conference or supervision, while it lasts."),
        order=5,
        group=navigation.CASES,
    ),
    NavItem(
        "partners:referral-summary",
        _("Referral summary"),
        Cap.VIEW_REFERRAL_SUMMARY,
        "hospital",
        _("Referrals of your area by month: counts only, no names, no diagnoses."),
        order=30,
        group=navigation.INDICATORS,
    ),
    NavItem(
        "partners:hospital-areas",
        _("Hospital areas"),
        Cap.VIEW_HOSPITAL_AREAS,
        "geo-alt",
        _("Which partner hospital and psychiatrist serve each district and school."),
        order=31,
        group=navigation.CASES,
    ),
    NavItem(
        "partners:department-accounts",
        _("Department accounts"),
        Cap.MANAGE_DEPARTMENT_ACCOUNTS,
        "building",
        _("Accounts of the partner departments: health, women's federation, youth league, …"),
        order=40,
        group=navigation.ADMIN,
    ),
]
