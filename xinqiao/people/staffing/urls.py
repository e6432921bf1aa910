from django.urls import path

from . import views

app_name = "staff"
urlpatterns = [
    path("new/", views.staff_add, name="add"),
    path("coverage/", views.coverage_list, name="coverage"),
    path("coverage/new/", views.coverage_add, name="coverage-add"),
    path("coverage/<uuid:code>/edit/", views.coverage_edit, name="coverage-edit"),
    path("coverage/<uuid:code>/end/", views.coverage_end, name="coverage-end"),
    path("<uuid:code>/", views.staff_detail, name="detail"),
    path("<uuid:code>/edit/", views.staff_edit, name="edit"),
    path("<uuid:code>/positions/", views.position_add, name="position-add"),
    path("<uuid:code>/positions/<int:pk>/end/", views.position_end, name="position-end"),
    path("<uuid:code>/qualifications/", views.qualification_add, name="qualification-add"),
    path(
        "<uuid:code>/qualifications/<uuid:qualification>/edit/",
        views.qualification_edit,
        name="qualification-edit",
    ),
    path(
        "<uuid:code>/qualifications/<uuid:qualification>/remove/",
        views.qualification_remove,
        name="qualification-remove",
    ),
    path(
        "<uuid:code>/qualifications/<uuid:qualification>/scan/",
        views.qualification_scan,
        name="qualification-scan",
    ),
    path("<uuid:code>/leave/", views.staff_leave, name="leave"),
    path("<uuid:code>/invite/", views.staff_invite, name="invite"),
]
