from __future__ import annotations

import pytest

from tests.newsletter.subscriptions.queued_tasks import CommittingClient, purge_queue


@pytest.fixture
def client() -> CommittingClient:
    """Requests commit and the tasks they queue run (tests/newsletter/subscriptions/queued_tasks.py)."""
    purge_queue()
    return CommittingClient()
