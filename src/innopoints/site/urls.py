"""URL configuration."""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from innopoints.audit.views import audit_trail
from innopoints.enterprises import views as enterprise_views
from innopoints.site.api import api
from innopoints.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("innopoints.accounts.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("enterprises/", enterprise_views.enterprise_list, name="enterprise-list"),
    path("enterprises/<str:uscc>/", enterprise_views.enterprise_detail, name="enterprise-detail"),
    path("imports/", enterprise_views.import_page, name="import-list"),
    path("imports/<int:batch_id>/", enterprise_views.import_detail, name="import-detail"),
    path(
        "imports/<int:batch_id>/report.xlsx", enterprise_views.import_report, name="import-report"
    ),
    path("export/", enterprise_views.export_page, name="export"),
    path("audit/", audit_trail, name="audit-trail"),
    path("jobs/<int:job_id>/", web_views.job_status, name="job-status"),
    path("scoring/", include("innopoints.scoring.urls")),
    path("zones/", include("innopoints.zones.urls")),
    path("pools/", include("innopoints.pools.urls")),
    path("portal/", include("innopoints.portal.urls")),
    path("portrait/", include("innopoints.portrait.urls")),
    path("finance/", include("innopoints.finance.urls")),
    path("policies/", include("innopoints.policies.urls")),
    path("inbox/", include("innopoints.inbox.urls")),
    path("services/", include("innopoints.services.urls")),
    path("api/", api.urls),
]
