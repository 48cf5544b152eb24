from django.urls import path

from stagecoach.strategy import views

urlpatterns = [
    path(
        "deals/<int:opportunity_id>/criteria/<int:criterion_id>/",
        views.criterion_check,
        name="deal-criterion-check",
    ),
]
