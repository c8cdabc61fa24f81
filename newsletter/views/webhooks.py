"""Webhooks views."""

urlpatterns: list = []
