from django.urls import path

from . import views

app_name = "staff"
urlpatterns = [
    path("new/", views.staff_add, name="add"),
    path("coverage/", views.coverage_list, name="coverage"),
    path("coverage/new/", views.coverage_add, name="coverage-add"),
    path("coverage/<uuid:code>/end/", views.coverage_end, name="coverage-end"),
    path("<uuid:code>/", views.staff_detail, name="detail"),
    path("<uuid:code>/edit/", views.staff_edit, name="edit"),
    path("<uuid:code>/positions/", views.position_add, name="position-add"),
    path("<uuid:code>/positions/<int:pk>/end/", views.position_end, name="position-end"),
    path("<uuid:code>/qualifications/", views.qualification_add, name="qualification-add"),
    path("<uuid:code>/leave/", views.staff_leave, name="leave"),
    path("<uuid:code>/invite/", views.staff_invite, name="invite"),
]
