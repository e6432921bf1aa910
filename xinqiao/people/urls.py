from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.student_list, name="student-list"),
    path("<uuid:code>/", views.student_detail, name="student-detail"),
    path("<uuid:code>/edit/", views.student_edit, name="student-edit"),
    path("<uuid:code>/reveal-id/", views.student_reveal_id, name="student-reveal-id"),
    path("staff/", views.staff_list, name="staff-list"),
    path("classes/<uuid:code>/committee/", views.committee, name="committee"),
    path("committee/<int:pk>/end/", views.committee_end, name="committee-end"),
    path("committee/<int:pk>/replace/", views.committee_replace, name="committee-replace"),
    path("committee/<int:pk>/slip/", views.committee_slip, name="committee-slip"),
    path("schools/<uuid:code>/groups/", views.school_groups, name="school-groups"),
    path("groups/members/<int:pk>/end/", views.group_member_end, name="group-member-end"),
    path("<uuid:code>/guardians/add/", views.guardian_add, name="guardian-add"),
    path("guardians/<uuid:code>/edit/", views.guardian_edit, name="guardian-edit"),
    path("guardians/<uuid:code>/end/", views.guardian_end, name="guardian-end"),
    path("guardians/<uuid:code>/invite/", views.guardian_invite, name="guardian-invite"),
    path("<uuid:code>/circumstances/add/", views.circumstance_add, name="circumstance-add"),
    path("circumstances/<uuid:code>/end/", views.circumstance_end, name="circumstance-end"),
]
