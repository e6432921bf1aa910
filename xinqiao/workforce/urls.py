from django.urls import path

from . import views

app_name = "workforce"
urlpatterns = [
    path("training/", views.training_summary, name="training-summary"),
    path("training/staff/<uuid:code>/", views.staff_training, name="staff-training"),
    path("training/staff/<uuid:code>/add/", views.training_create, name="training-create"),
    path("training/<uuid:code>/edit/", views.training_edit, name="training-edit"),
    path("training/<uuid:code>/remove/", views.training_remove, name="training-remove"),
    path(
        "training/<uuid:code>/certificate/",
        views.training_certificate,
        name="training-certificate",
    ),
    path("research/", views.research_indicator, name="research-indicator"),
    path("research/add/", views.research_create, name="research-create"),
    path("research/<uuid:code>/", views.research_detail, name="research-detail"),
    path("research/<uuid:code>/edit/", views.research_edit, name="research-edit"),
    path("research/<uuid:code>/remove/", views.research_remove, name="research-remove"),
    path("registries/", views.registry_list, name="registry-list"),
    path("registries/add/", views.registry_create, name="registry-create"),
    path("registries/<uuid:code>/", views.registry_detail, name="registry-detail"),
    path("registries/<uuid:code>/edit/", views.registry_edit, name="registry-edit"),
    path(
        "registries/<uuid:code>/members/add/",
        views.registry_member_add,
        name="registry-member-add",
    ),
    path(
        "registries/members/<uuid:code>/end/",
        views.registry_member_end,
        name="registry-member-end",
    ),
    path("registries/<uuid:code>/events/add/", views.registry_event_add, name="registry-event-add"),
    path("experts/", views.expert_list, name="expert-list"),
    path("experts/add/", views.expert_create, name="expert-create"),
    path("experts/<uuid:code>/", views.expert_detail, name="expert-detail"),
    path("experts/<uuid:code>/edit/", views.expert_edit, name="expert-edit"),
    path("experts/<uuid:code>/invite/", views.expert_invite, name="expert-invite"),
    path(
        "experts/<uuid:code>/committee/",
        views.expert_committee_add,
        name="expert-committee-add",
    ),
    path(
        "experts/<uuid:code>/committee/end/",
        views.expert_committee_end,
        name="expert-committee-end",
    ),
]
