from django.urls import path

from . import import_views as views

app_name = "imports"
urlpatterns = [
    path("", views.job_list, name="job-list"),
    path("<uuid:code>/", views.job_detail, name="job-detail"),
    path("<uuid:code>/progress/", views.job_progress, name="job-progress"),
    path("<uuid:code>/errors.csv", views.job_errors, name="job-errors"),
]
