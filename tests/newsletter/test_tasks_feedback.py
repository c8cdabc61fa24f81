"""Retraining a reader's taste model through a real worker: once per burst of ratings, and removed by a reset."""

from __future__ import annotations

import os
import re

import pytest
from django.test import Client
from django.urls import reverse

from newsletter.feedback.links import rating_links
from newsletter.feedback.models import TasteModel
from newsletter.subscriptions import tokens
from newsletter.tasks import train_taste
from tests.conftest import wait_until
from tests.newsletter.digests.test_planning import make_subscriber
from tests.newsletter.feedback.corpus import LIKED_TOPIC, highly_relevant, make_papers, others
from tests.newsletter.feedback.test_training import digest_of

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def test_the_task_keeps_its_name():
    assert train_taste.name == "newsletter.tasks.train_taste"


@pytest.mark.worker
def test_ratings_in_a_row_train_once_and_a_reset_or_an_undo_removes_the_model(
    celery_worker_process, settings
):
    settings.TASTE_TRAINING_DELAY_SECONDS = 3
    papers = make_papers()
    reader = make_subscriber("reader@example.com")
    liked = highly_relevant(LIKED_TOPIC)[:3]
    digest = digest_of(reader, papers, [*liked, *others()[:20]])
    client = Client()

    for corpus_id in liked:
        url = rating_links(subscriber=reader, digest_id=digest.id, paper_id=papers[corpus_id].id).more_url
        assert client.post(url.removeprefix(settings.SITE_URL)).status_code == 200

    model = wait_until(
        lambda: TasteModel.objects.filter(subscriber=reader).first(), timeout=60, message="a model"
    )
    assert model.ratings_count == 3
    wait_until(lambda: len(outcomes(celery_worker_process)) == 3, message="the three trainings to end")
    assert sorted(outcomes(celery_worker_process)) == [
        "superseded by a later request",
        "superseded by a later request",
        "trained",
    ]

    token = tokens.preferences_path(reader).split("/")[2]
    client.post(reverse("newsletter:ratings_reset", args=[token]))

    assert not TasteModel.objects.filter(subscriber=reader).exists()  # at once, not after the task
    wait_until(lambda: len(outcomes(celery_worker_process)) == 4, timeout=60, message="the reset's training")
    assert outcomes(celery_worker_process)[-1] == "too few ratings"

    # An undo below the minimum removes the model in the task.
    for corpus_id in liked:
        url = rating_links(subscriber=reader, digest_id=digest.id, paper_id=papers[corpus_id].id).more_url
        client.post(url.removeprefix(settings.SITE_URL))
    wait_until(
        lambda: TasteModel.objects.filter(subscriber=reader).exists(), timeout=60, message="a new model"
    )
    client.post(reverse("newsletter:preferences_rating_undo", args=[token, papers[liked[0]].id]))
    wait_until(
        lambda: not TasteModel.objects.filter(subscriber=reader).exists(), timeout=60, message="removal"
    )
    wait_until(lambda: outcomes(celery_worker_process)[-1:] == ["removed"], message="the removal's outcome")


def outcomes(worker) -> list[str]:
    """What each train_taste task the worker finished returned, in order."""
    return re.findall(
        r"Task newsletter\.tasks\.train_taste\[[^\]]+\] succeeded in [\d.]+s: '([^']*)'", worker.log()
    )
