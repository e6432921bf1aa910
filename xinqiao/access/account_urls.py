"""One's own account (access/account_views.py), under /accounts/."""

from django.urls import path

from . import account_views

app_name = "account"
urlpatterns = [
    path("password/", account_views.password_change, name="password-change"),
    path("sessions/", account_views.session_list, name="sessions"),
    path("sessions/others/", account_views.session_revoke_others, name="sessions-revoke-others"),
    path("sessions/<str:public_id>/end/", account_views.session_revoke, name="session-revoke"),
    path("invitation/<str:token>/", account_views.invitation, name="invitation"),
]
