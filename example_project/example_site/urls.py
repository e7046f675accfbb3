from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    # Trigger.dev alert webhooks -> Django signals (receivers in dashboard/receivers.py).
    path("trigger/webhooks/", include("django_trigger.webhooks.urls")),
]
