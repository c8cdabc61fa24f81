"""Preview views."""

urlpatterns: list = []
