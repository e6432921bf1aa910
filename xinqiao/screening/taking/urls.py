from django.urls import path

from . import api, views

app_name = "take"

urlpatterns = [
    path("", views.enter, name="enter"),
    path("q/", views.questionnaire, name="questionnaire"),
    path("done/", views.done, name="done"),
    path("leave/", views.leave, name="leave"),
    path("link/<str:token>/", views.link, name="link"),
    path("api/answers/", api.save_answers, name="api-answers"),
    path("api/submit/", api.submit, name="api-submit"),
    path("api/state/", api.state, name="api-state"),
]
