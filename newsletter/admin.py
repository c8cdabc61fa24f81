"""Django's admin discovers this module: it registers each concept's own admin."""

from newsletter.delivery import admin as delivery_admin  # noqa: F401
from newsletter.digests import admin as digests_admin  # noqa: F401
from newsletter.feedback import admin as feedback_admin  # noqa: F401
from newsletter.subscriptions import admin as subscriptions_admin  # noqa: F401
