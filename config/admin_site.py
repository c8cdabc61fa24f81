"""The Django admin, branded Paperbox, with the operations dashboard at /admin/dashboard/.

Registered through the admin's own extension points (an AdminSite subclass named by the
AdminConfig in config/admin_apps.py, named in INSTALLED_APPS), so nothing patches `admin.site` at import time.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path

from newsletter.operations.dashboard import dashboard_page


class PaperboxAdminSite(admin.AdminSite):
    site_header = "Paperbox administration"
    site_title = "Paperbox admin"
    index_title = "Subscribers, digests and papers"
    # At 1280 px the navigation sidebar takes a quarter of the width from the change lists, whose
    # filters already take another; the breadcrumbs and the index lead everywhere it does.
    enable_nav_sidebar = False

    def get_urls(self):
        # Before the admin's own patterns: its catch-all `<app_label>/` would take "dashboard/".
        dashboard = path("dashboard/", self.admin_view(self.dashboard_view), name="paperbox_dashboard")
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> TemplateResponse:
        return dashboard_page(request, site_context=self.each_context(request))
