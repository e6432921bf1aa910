from django.urls import path

from . import views

app_name = "registries"
urlpatterns = [
    path("<slug:kind>/", views.upload, name="upload"),
    path("<slug:kind>/<uuid:code>/", views.job_detail, name="job-detail"),
    path("<slug:kind>/<uuid:code>/progress/", views.job_progress, name="job-progress"),
    path("<slug:kind>/<uuid:code>/errors.csv", views.job_errors, name="job-errors"),
]
