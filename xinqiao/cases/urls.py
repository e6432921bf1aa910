from .views import boards, care, lifecycle, referrals, schooling

app_name = "cases"

urlpatterns = [
    *boards.urlpatterns,
    *lifecycle.urlpatterns,
    *care.urlpatterns,
    *referrals.urlpatterns,
    *schooling.urlpatterns,
]
