from django.urls import path

from . import views_2fa

app_name = "two_factor"
urlpatterns = [
    path("", views_2fa.enrol, name="enrol"),
    path("verify/", views_2fa.verify, name="verify"),
    path("recovery-codes/", views_2fa.renew_recovery_codes, name="recovery-codes"),
    path("reset/<str:username>/", views_2fa.reset, name="reset"),
]
