"""Digests views."""

urlpatterns: list = []
