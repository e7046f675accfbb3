from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("runs/<str:run_id>/", views.run_detail, name="run"),
    path("runs/<str:run_id>/token/", views.run_token, name="run_token"),
    path("trigger/", views.trigger_task, name="trigger"),
    path("overview/", views.overview, name="overview"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<str:token_id>/", views.decide, name="decide"),
]
