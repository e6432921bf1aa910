from django.urls import path

from . import views

app_name = "facilities"
urlpatterns = [
    path("", views.room_list, name="room-list"),
    path("units/<uuid:code>/", views.room_detail, name="room-detail"),
    path("units/<uuid:code>/edit/", views.room_edit, name="room-edit"),
    path("units/<uuid:code>/checklist/", views.checklist_edit, name="checklist"),
    path("units/<uuid:code>/evaluate/", views.room_evaluate, name="evaluate"),
    path("photos/<uuid:code>/", views.photo, name="photo"),
]
