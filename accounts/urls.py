from django.urls import re_path

from accounts.api import ClerkWebhookView, MeView

urlpatterns = [
    re_path(r"^me/?$", MeView.as_view(), name="me"),
    re_path(r"^webhooks/clerk/?$", ClerkWebhookView.as_view(), name="clerk-webhook"),
]
