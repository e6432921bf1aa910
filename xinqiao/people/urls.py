from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.student_list, name="student-list"),
    path("<uuid:code>/", views.student_detail, name="student-detail"),
    path("<uuid:code>/edit/", views.student_edit, name="student-edit"),
    path("<uuid:code>/reveal-id/", views.student_reveal_id, name="student-reveal-id"),
    path("staff/", views.staff_list, name="staff-list"),
]
