from django.urls import path

from . import slips, views

app_name = "screening"

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_create, name="campaign-create"),
    path("my-classes/", views.my_classes, name="my-classes"),
    path("<uuid:code>/", views.campaign_detail, name="campaign-detail"),
    path("<uuid:code>/progress/", views.campaign_progress, name="campaign-progress"),
    path("<uuid:code>/status/", views.campaign_transition, name="campaign-transition"),
    path("<uuid:code>/battery/", views.campaign_battery, name="campaign-battery"),
    path("<uuid:code>/aggregates/", views.aggregates, name="campaign-aggregates"),
    path("<uuid:code>/classes/<uuid:class_code>/", views.class_progress, name="class-progress"),
    path(
        "<uuid:code>/classes/<uuid:class_code>/consent/", views.class_consent, name="class-consent"
    ),
    path("<uuid:code>/classes/<uuid:class_code>/sitting/", views.sitting_open, name="sitting-open"),
    path(
        "<uuid:code>/students/<uuid:student>/void/",
        views.void_hand_in,
        name="hand-in-void",
    ),
    path(
        "<uuid:code>/students/<uuid:student>/<str:action>/",
        views.assignment_action,
        name="assignment-action",
    ),
    path("<uuid:code>/results/<uuid:school>/", views.results, name="results"),
    path(
        "<uuid:code>/results/<uuid:school>/export.xlsx", views.results_export, name="results-export"
    ),
    path("classes/<uuid:class_code>/slips/", slips.class_slips, name="class-slips"),
    path(
        "classes/<uuid:class_code>/slips/reissue/",
        slips.reissue_class,
        name="class-slips-reissue",
    ),
    path(
        "classes/<uuid:class_code>/slips/reissue/<uuid:student>/",
        slips.reissue_student,
        name="student-code-reissue",
    ),
    path("sittings/<uuid:key>/", views.sitting_screen, name="sitting-screen"),
    path("sittings/<uuid:key>/status/", views.sitting_status, name="sitting-status"),
    path("sittings/<uuid:key>/close/", views.sitting_close, name="sitting-close"),
]
