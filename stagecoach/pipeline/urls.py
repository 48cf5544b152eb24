from django.urls import path

from stagecoach.pipeline import views

urlpatterns = [
    path("deals/<int:opportunity_id>/", views.deal_page, name="deal"),
    path("imports/", views.import_list, name="imports"),
    path("imports/map/<str:token>/", views.import_mapping, name="import_mapping"),
    path("imports/<int:run_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:run_id>/files/<str:name>", views.import_file, name="import_file"),
]
