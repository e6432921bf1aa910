from django.urls import path

from . import views

app_name = "audit"
# Search and export only: the log cannot be changed or deleted through the UI or the API.
urlpatterns = [
    path("", views.event_list, name="event-list"),
    path("export/", views.event_export, name="event-export"),
]
