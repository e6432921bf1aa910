from django.urls import path

from . import views

app_name = "family"

urlpatterns = [
    path("", views.home, name="home"),
    path("children/<uuid:code>/", views.child_detail, name="child-detail"),
    path(
        "children/<uuid:code>/consent/<uuid:campaign>/",
        views.consent_answer,
        name="consent-answer",
    ),
    path("messages/", views.school_messages, name="messages"),
    path("guidance/", views.guidance, name="guidance"),
]
