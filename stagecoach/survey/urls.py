from django.urls import path

from stagecoach.survey import views

urlpatterns = [
    path("survey/", views.survey_home, name="survey"),
    path("survey/open/", views.open_round, name="survey-open"),
    path("survey/compare/", views.compare, name="survey-compare"),
    path("survey/<int:round_id>/", views.round_results, name="survey-round"),
    path("survey/<int:round_id>/answer/", views.answer, name="survey-answer"),
    path("survey/<int:round_id>/customers/", views.customers, name="survey-customers"),
    path("survey/<int:round_id>/close/", views.close_round, name="survey-close"),
    # A customer's private link: the token is the only credential.
    path("survey/link/<str:token>/", views.customer_answer, name="survey-customer"),
]
