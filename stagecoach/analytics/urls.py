from django.urls import path

from stagecoach.analytics import views

urlpatterns = [
    path("analytics/refresh/", views.refresh_analytics, name="refresh_analytics"),
]
