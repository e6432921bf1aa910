from django.urls import path

from . import views

app_name = "emergency"
urlpatterns = [
    path("", views.home, name="home"),
    path("teams/new/<uuid:code>/", views.team_create, name="team-create"),
    path("teams/<uuid:code>/", views.team_detail, name="team-detail"),
    path("teams/<uuid:code>/edit/", views.team_edit, name="team-edit"),
    path("teams/<uuid:code>/members/add/", views.member_add, name="member-add"),
    path("members/<uuid:code>/end/", views.member_end, name="member-end"),
    path("plans/new/", views.plan_create, name="plan-create"),
    path("plans/<uuid:code>/", views.plan_detail, name="plan-detail"),
    path("plans/<uuid:code>/versions/add/", views.version_add, name="version-add"),
    path("plans/<uuid:code>/in-force/", views.plan_in_force, name="plan-in-force"),
    path("versions/<uuid:code>/", views.version_download, name="version-download"),
    path("drills/new/", views.drill_create, name="drill-create"),
    path("campaigns/<uuid:code>/", views.campaign_arrange, name="campaign-arrange"),
    path("helplines/", views.hotline_list, name="hotline-list"),
    path("helplines/new/<uuid:code>/", views.hotline_create, name="hotline-create"),
    path("helplines/<uuid:code>/", views.hotline_edit, name="hotline-edit"),
    path("helplines/<uuid:code>/active/", views.hotline_active, name="hotline-active"),
]
