from django.urls import path

from . import views

app_name = "mentoring"
urlpatterns = [
    path("", views.home, name="home"),
    path("talks/new/", views.talk_add, name="talk-add"),
    path("talks/<uuid:code>/", views.talk_detail, name="talk-detail"),
    path("talks/school/", views.school_talks, name="school-talks"),
    path("coverage/", views.coverage, name="coverage"),
    path("classes/<uuid:code>/", views.class_detail, name="class"),
    path("classes/<uuid:code>/assign/", views.class_assign, name="class-assign"),
    path("assign/", views.assign, name="assign"),
    path("mentorships/<uuid:code>/end/", views.end, name="end"),
]
