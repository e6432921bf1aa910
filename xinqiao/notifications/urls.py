from django.urls import path

from . import views

app_name = "notifications"

# Mounted at /alerts/inbox/ (config.urls), where the inbox has always been.
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<uuid:code>/read/", views.mark_read, name="mark-read"),
]
