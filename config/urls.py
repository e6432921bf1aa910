from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from xinqiao.access import views as access_views
from xinqiao.api.api import api
from xinqiao.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("xinqiao.access.account_urls")),
    path("accounts/two-factor/", include("xinqiao.access.urls_2fa")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("audit/", include("xinqiao.audit.urls")),
    path("accounts/manage/", include("xinqiao.access.urls")),
    path("pick/<slug:source>/", access_views.pick, name="pick"),
    path("orgs/", include("xinqiao.orgs.urls")),
    path("students/", include("xinqiao.people.urls")),
    path("import/", include("xinqiao.people.import_urls")),
    path("import/registry/", include("xinqiao.people.registry.urls")),
    path("staff/", include("xinqiao.people.staffing.urls")),
    path("instruments/", include("xinqiao.instruments.urls")),
    path("screening/", include("xinqiao.screening.urls")),
    # The counselling page's entry from the end of a questionnaire (it reads the /take/ cookie).
    path("take/help/", include("xinqiao.counselling.take_urls")),
    path("take/", include("xinqiao.screening.taking.urls")),
    path("alerts/inbox/", include("xinqiao.notifications.urls")),
    path("alerts/", include("xinqiao.alerts.urls")),
    path("cases/", include("xinqiao.cases.urls")),
    path("family/", include("xinqiao.family.urls")),
    path("facilities/", include("xinqiao.facilities.urls")),
    path("emergency/", include("xinqiao.emergency.urls")),
    path("partners/", include("xinqiao.partners.urls")),
    path("workforce/", include("xinqiao.workforce.urls")),
    path("counselling/", include("xinqiao.counselling.urls")),
    path("mentoring/", include("xinqiao.mentoring.urls")),
]
