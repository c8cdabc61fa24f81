from django.contrib.admin.apps import AdminConfig


class PaperboxAdminConfig(AdminConfig):
    """django.contrib.admin with Paperbox's own site (config/admin_site.py) as the default."""

    default_site = "config.admin_site.PaperboxAdminSite"
