from django.urls import path

from stagecoach.strategy import views

urlpatterns = [
    path(
        "deals/<int:opportunity_id>/criteria/<int:criterion_id>/",
        views.criterion_check,
        name="deal-criterion-check",
    ),
    path("deals/<int:opportunity_id>/influences/", views.influence_add, name="deal-influence-add"),
    path(
        "deals/<int:opportunity_id>/influences/<int:influence_id>/",
        views.influence_edit,
        name="deal-influence-edit",
    ),
    path(
        "deals/<int:opportunity_id>/influences/<int:influence_id>/delete/",
        views.influence_delete,
        name="deal-influence-delete",
    ),
    path("deals/<int:opportunity_id>/plan/", views.plan_save, name="deal-plan-save"),
    path(
        "deals/<int:opportunity_id>/plan/revisions/<int:revision_id>/",
        views.plan_revision,
        name="deal-plan-revision",
    ),
]
