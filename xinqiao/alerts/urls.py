from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("<uuid:code>/", views.alert_detail, name="alert-detail"),
    path("<uuid:code>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("<uuid:code>/verify/", views.alert_verify, name="alert-verify"),
    path("concerns/new/", views.concern_create, name="concern-create"),
    path("concerns/mine/", views.concern_list, name="concern-list"),
    path("rules/", views.ruleset_list, name="ruleset-list"),
    path("rules/new/", views.ruleset_create, name="ruleset-create"),
]
