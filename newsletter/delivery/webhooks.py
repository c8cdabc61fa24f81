"""Webhooks: SendGrid's signed Event Webhook (`POST /webhooks/sendgrid/`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from newsletter.delivery.events import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfigurationError,
    WebhookPayloadError,
    WebhookSignatureError,
    delivery_events_record,
    webhook_parse,
    webhook_verify,
)

logger = logging.getLogger(__name__)


@csrf_exempt  # SendGrid cannot send a CSRF token; the ECDSA signature authenticates the request
@require_POST
def sendgrid_events(request: HttpRequest) -> JsonResponse:
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"error": "body too large"}, status=413)
    try:
        webhook_verify(
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            public_key=settings.SENDGRID_WEBHOOK_PUBLIC_KEY,
            max_age=settings.SENDGRID_WEBHOOK_MAX_AGE,
        )
        events = webhook_parse(body=body)
    except WebhookConfigurationError as error:
        logger.error("SendGrid Event Webhook refused: %s", error)
        return JsonResponse({"error": "webhook verification is not configured"}, status=403)
    except WebhookSignatureError as error:
        logger.warning("SendGrid Event Webhook refused: %s", error)
        return JsonResponse({"error": "bad signature"}, status=403)
    except WebhookPayloadError as error:
        logger.warning("SendGrid Event Webhook: malformed body: %s", error)
        return JsonResponse({"error": str(error)}, status=400)
    result = delivery_events_record(events=events)
    return JsonResponse({"received": result.received, "new": result.new})
