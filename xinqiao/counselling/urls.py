from django.urls import path

from . import help_views, student_views, views

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
    # Students' help requests: the counsellor's inbox.
    path("help/", help_views.inbox, name="help-inbox"),
    path("help/<uuid:code>/", help_views.help_detail, name="help-detail"),
    path("help/<uuid:code>/acknowledge/", help_views.help_acknowledge, name="help-acknowledge"),
    path("help/<uuid:code>/book/", help_views.help_book, name="help-book"),
    path("help/<uuid:code>/alert/", help_views.help_alert, name="help-alert"),
    path("help/<uuid:code>/close/", help_views.help_close, name="help-close"),
    # A parent books for their own child.
    path("family/<uuid:code>/", help_views.family_book, name="family-book"),
    path(
        "family/appointments/<uuid:code>/cancel/",
        help_views.family_cancel,
        name="family-cancel",
    ),
    # The student's own page (a signed student session, no account) and its entries.
    path("schools/<uuid:code>/student/", student_views.school_entry, name="school-entry"),
    path("student/enter/", student_views.enter, name="student-enter"),
    path("student/", student_views.home, name="student-home"),
    path("student/help/", student_views.ask, name="student-help"),
    path("student/book/", student_views.book, name="student-book"),
    path(
        "student/appointments/<uuid:code>/cancel/",
        student_views.cancel,
        name="student-cancel",
    ),
    path("student/leave/", student_views.leave, name="student-leave"),
]
