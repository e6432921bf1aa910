from django.urls import path
from django.utils.translation import gettext_lazy as _

from xinqiao.access.roles import Cap
from xinqiao.core import navigation
from xinqiao.core.navigation import NavItem, register

from . import views

app_name = "instruments"
urlpatterns = [
    path("", views.instrument_list, name="instrument-list"),
    path("upload/", views.instrument_upload, name="instrument-upload"),
    path("<str:code>/<str:version>/", views.instrument_detail, name="instrument-detail"),
    path("<str:code>/<str:version>/approve/", views.instrument_approve, name="instrument-approve"),
]

register(
    NavItem(
        "instruments:instrument-list",
        _("Instruments"),
        Cap.VIEW_INSTRUMENTS,
        "clipboard",
        _("Validated scales, their licences and scoring"),
        group=navigation.ADMIN,
    )
)
