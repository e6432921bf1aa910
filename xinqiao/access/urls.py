from django.urls import path

from . import views

app_name = "access"
urlpatterns = [
    path("", views.account_list, name="account-list"),
    path("new/", views.account_create, name="account-create"),
    path("requests/<uuid:code>/decide/", views.role_request_decide, name="role-request-decide"),
    path("<str:username>/", views.account_detail, name="account-detail"),
    path("<str:username>/roles/", views.account_assign_role, name="account-assign-role"),
    path("<str:username>/roles/revoke/", views.account_revoke_role, name="account-revoke-role"),
    path("<str:username>/active/", views.account_set_active, name="account-set-active"),
    path("<str:username>/password/", views.account_reset_password, name="account-reset-password"),
]
