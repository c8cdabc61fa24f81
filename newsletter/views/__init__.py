"""Views, one module per area; each module also lists its own `urlpatterns` (see newsletter/urls.py)."""
