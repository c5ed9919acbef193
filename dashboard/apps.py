from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The workspace dashboard: a top-floor page that sums up the floors below it (the
    catalog's counts, the audit trail's recent activity), so that they need not know it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboard"
