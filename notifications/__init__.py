"""Gridledger's delivery service: every notice the platform sends goes through this package.

    from notifications import ChannelConfig, DeliveryService, Audience, resolve_recipients

    service = DeliveryService.from_env()
    audience = Audience(customer_ids=("C001",))
    recipients = resolve_recipients(service.warehouse, "bill_ready", audience)
    service.deliver("bill_ready:C001:2025-06", "bill_ready", context, recipients)
    service.deliver_many([Notice(key, notice_type, context, recipients), ...])  # many at once

See README.md in this folder for the tables, the environment variables and the guarantees.
"""

from notifications.channels import ChannelConfig
from notifications.ledger import Ledger, idempotency_key
from notifications.masking import mask_account, mask_email, mask_phone
from notifications.recipients import Audience, Recipient, resolve_each, resolve_recipients
from notifications.service import ChannelOutcome, DeliveryReport, DeliveryService, Notice
from notifications.templates import NOTICE_TYPES, RenderedNotice, render, sms_segments

__all__ = [
    "NOTICE_TYPES", "Audience", "ChannelConfig", "ChannelOutcome", "DeliveryReport",
    "DeliveryService", "Ledger", "Recipient", "RenderedNotice", "idempotency_key",
    "Notice", "mask_account", "mask_email", "mask_phone", "render", "resolve_each",
    "resolve_recipients",
    "sms_segments",
]
