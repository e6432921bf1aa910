from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("units/<uuid:code>/", views.unit_detail, name="unit-detail"),
    path("units/<uuid:code>/add/", views.unit_create, name="unit-create"),
    path("units/<uuid:code>/edit/", views.unit_edit, name="unit-edit"),
    path("units/<uuid:code>/move/", views.unit_move, name="unit-move"),
    path("units/<uuid:code>/active/", views.unit_set_active, name="unit-set-active"),
    path("terms/", views.term_list, name="term-list"),
    path("terms/<slug:code>/make-current/", views.term_make_current, name="term-make-current"),
]
