from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from stagecoach.api import api
from stagecoach.web import views as web_views

admin.site.site_header = "stagecoach administration"
admin.site.site_title = "stagecoach admin"
# The admin's sign-in page shares the lockout of /login/ (web/views.py).
admin.site.login = web_views.admin_login  # type: ignore[method-assign]

urlpatterns = [
    path("", web_views.home, name="home"),
    path("login/", web_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("stagecoach.accounts.urls")),
    path("", include("stagecoach.pipeline.urls")),
    path("", include("stagecoach.analytics.urls")),
    path("", include("stagecoach.coaching.urls")),
    path("", include("stagecoach.development.urls")),
    path("", include("stagecoach.audit.urls")),
    path("", include("stagecoach.discovery.urls")),
    path("", include("stagecoach.survey.urls")),
    path("", include("stagecoach.strategy.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
