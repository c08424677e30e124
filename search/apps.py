from django.apps import AppConfig


class SearchConfig(AppConfig):
    """One query over every searchable source of a student's material."""

    name = "search"
    verbose_name = "Search"
