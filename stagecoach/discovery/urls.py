from django.urls import path

from stagecoach.discovery import views

urlpatterns = [
    path("process/", views.process_map, name="process-map"),
    path("process/stages/<int:stage_id>/edit/", views.edit_stage, name="process-stage-edit"),
    path(
        "process/pipelines/<int:pipeline_id>/stages/new/", views.add_stage, name="process-stage-add"
    ),
    path("process/pipelines/new/", views.add_pipeline, name="process-pipeline-add"),
    path("process/versions/", views.version_list, name="process-versions"),
    path("process/versions/<int:number>/", views.version_diff, name="process-version"),
    path("process/discovered/", views.discovered, name="process-discovered"),
    path("process/winners/", views.winners, name="process-winners"),
    path("process/winners/decide/", views.decide, name="process-decide"),
    path("process/discover/", views.discover_now, name="process-discover-now"),
]
