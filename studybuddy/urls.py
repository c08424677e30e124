from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import health, metrics, views
from core.admin_views import jobs_dashboard

admin.site.site_header = "StudyBuddy administration"
admin.site.site_title = "StudyBuddy admin"
admin.site.index_title = "Moderation and clean-up"
admin.site.site_url = None  # the SPA lives elsewhere: no "View site" link to a 404

urlpatterns = [
    # Each app routes its own viewsets; named by string, so this package imports no app.
    # In order of traffic (the paths do not overlap): Django tries the patterns in turn,
    # and clients poll a lecture's status while it is processed.
    path("api/", include("lectures.urls")),
    path("api/", include("transcripts.urls")),
    path("api/", include("accounts.urls")),
    path("api/", include("courses.urls")),
    path("api/", include("documents.urls")),
    path("api/", include("search.urls")),
    path("api/", include("assistant.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Last of the API: an unknown /api/ path is the JSON 404, also under DEBUG.
    re_path(r"^api(?:/|$)", views.api_not_found, name="api-not-found"),
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    # Before the admin's own URLs, whose last pattern catches every other admin path.
    path("admin/jobs/", admin.site.admin_view(jobs_dashboard), name="admin-jobs"),
    re_path(r"^metrics/?$", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "core.views.bad_request"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
