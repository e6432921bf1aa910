from django.urls import path

from . import views, views_groups

app_name = "counselling"
urlpatterns = [
    path("", views.home, name="home"),
    path("units/<uuid:code>/", views.unit_detail, name="unit"),
    path("units/<uuid:code>/duty/new/", views.duty_add, name="duty-add"),
    path("units/<uuid:code>/changes/new/", views.exception_add, name="exception-add"),
    path("units/<uuid:code>/rooms/new/", views.room_add, name="room-add"),
    path("units/<uuid:code>/settings/", views.unit_settings, name="settings"),
    path("duty/<uuid:code>/remove/", views.duty_remove, name="duty-remove"),
    path("changes/<uuid:code>/remove/", views.exception_remove, name="exception-remove"),
    path("availability/", views.availability, name="availability"),
    path(
        "availability/<uuid:code>/remove/",
        views.availability_remove,
        name="availability-remove",
    ),
    path("book/", views.book, name="book"),
    path("book/own/", views.book_own, name="book-own"),
    path("appointments/<uuid:code>/", views.appointment_detail, name="appointment-detail"),
    path("appointments/<uuid:code>/cancel/", views.appointment_cancel, name="appointment-cancel"),
    path(
        "appointments/<uuid:code>/move/",
        views.appointment_reschedule,
        name="appointment-reschedule",
    ),
    path(
        "appointments/<uuid:code>/confirm/",
        views.appointment_confirm,
        name="appointment-confirm",
    ),
    path(
        "appointments/<uuid:code>/attendance/",
        views.appointment_attendance,
        name="appointment-attendance",
    ),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/feed/", views.feed_manage, name="feed-manage"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    # Sessions, confidentiality and supervision.
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/new/", views.session_add, name="session-add"),
    path("sessions/<uuid:code>/", views.session_detail, name="session-detail"),
    path("sessions/<uuid:code>/alert/", views.session_alert, name="session-alert"),
    path("sessions/<uuid:code>/case/", views.session_case, name="session-case"),
    path("sessions/<uuid:code>/break/", views.session_break, name="session-break"),
    path("confidentiality/", views.confidentiality, name="confidentiality"),
    path("supervision/", views.supervision_list, name="supervision"),
    path("supervision/new/", views.supervision_add, name="supervision-add"),
    path("supervision/<uuid:code>/", views.supervision_detail, name="supervision-detail"),
    path("supervision/<uuid:code>/advice/", views.supervision_advice, name="supervision-advice"),
    # Group programmes, the hotline log, case conferences (views_groups).
    path("groups/", views_groups.group_list, name="group-list"),
    path("groups/new/", views_groups.group_create, name="group-create"),
    path("groups/<uuid:code>/", views_groups.group_detail, name="group-detail"),
    path("groups/<uuid:code>/members/", views_groups.group_members, name="group-members"),
    path(
        "groups/<uuid:code>/sessions/new/", views_groups.group_session_add, name="group-session-add"
    ),
    path("group-sessions/<uuid:code>/", views_groups.group_session, name="group-session"),
    path("hotline/", views_groups.hotline_list, name="hotline-list"),
    path("hotline/new/", views_groups.hotline_add, name="hotline-add"),
    path("hotline/<uuid:code>/", views_groups.hotline_detail, name="hotline-detail"),
    path("conferences/", views_groups.conference_list, name="conference-list"),
    path("conferences/new/", views_groups.conference_add, name="conference-add"),
    path("conferences/<uuid:code>/", views_groups.conference_detail, name="conference-detail"),
    path(
        "conferences/<uuid:code>/advice/",
        views_groups.conference_advice,
        name="conference-advice",
    ),
    path(
        "conferences/<uuid:code>/actions/new/",
        views_groups.conference_action_add,
        name="conference-action-add",
    ),
    path("rooms/<uuid:code>/hours/", views.room_hours, name="room-hours"),
    path("room-hours/<uuid:code>/remove/", views.room_hours_remove, name="room-hours-remove"),
    path("units/<uuid:code>/usage/", views.room_usage, name="room-usage"),
    path("usage/", views.area_usage, name="area-usage"),
    path("workload/", views.workload_mine, name="workload-mine"),
    path("units/<uuid:code>/workload/", views.workload_unit, name="workload-unit"),
    path("workload/area/", views.workload_area, name="workload-area"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<uuid:code>/leave/", views.waitlist_leave, name="waitlist-leave"),
]
