# Subscriber, Interest and Suppression admin live here; digests and delivery have their own modules.
from newsletter import admin_delivery, admin_digests  # noqa: F401
