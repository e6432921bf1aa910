"""Under /take/ (the questionnaire's cookie is scoped to it): the end of a questionnaire leads
to the student's counselling page."""

from django.urls import path

from . import student_views

app_name = "take-help"
urlpatterns = [path("", student_views.from_questionnaire, name="start")]
