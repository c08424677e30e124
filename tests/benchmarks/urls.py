"""The product's routes and the benchmarks' baselines (never in ``studybuddy.urls``)."""

from django.urls import path

from studybuddy.urls import handler404, handler500
from studybuddy.urls import urlpatterns as product_urlpatterns
from tests.benchmarks import views

urlpatterns = [
    path("bench/json", views.bare_json, name="bench-json"),
    path("bench/discard", views.discard_body, name="bench-discard"),
    *product_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
