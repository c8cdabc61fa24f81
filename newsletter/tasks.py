"""Celery tasks: thin wrappers that take ids, load, and call one service."""

from __future__ import annotations

from celery import shared_task  # noqa: F401

# --- Subscriptions ---------------------------------------------------------------------------

# --- Digests ---------------------------------------------------------------------------------
