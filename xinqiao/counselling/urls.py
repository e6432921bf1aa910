from django.urls import path

from . import views

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
