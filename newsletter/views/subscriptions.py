"""Subscriptions views."""

urlpatterns: list = []
