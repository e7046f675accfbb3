from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("runs/<str:run_id>/", views.run_detail, name="run"),
    path("runs/<str:run_id>/token/", views.run_token, name="run_token"),
    path("runs/<str:run_id>/stream/", views.run_stream_page, name="run_stream"),
    path("runs/<str:run_id>/stream/events/", views.run_stream_events, name="run_stream_events"),
    path("trigger/", views.trigger_task, name="trigger"),
    path("overview/", views.overview, name="overview"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<str:token_id>/", views.decide, name="decide"),
    path("chat/", views.chat, name="chat"),
    path("chat/start/", views.chat_start, name="chat_start"),
    path("chat/send/", views.chat_send, name="chat_send"),
    path("chat/end/", views.chat_end, name="chat_end"),
    path("chat/events/", views.chat_events, name="chat_events"),
]
