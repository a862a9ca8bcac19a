"""The delivery service as a Dagster resource: assets that send notices ask for `delivery`.

- `LiveDelivery`: the channel URLs are config. `LiveDelivery.from_env()` reads the
  `GRIDLEDGER_*_URL` variables once (`orchestration/build.py` does so when it builds the
  Definitions); an empty URL means the channel writes to the outbox, as with `ChannelConfig`.
- `OutboxDelivery`: every channel writes to the warehouse outbox (`notify.outbox`, see
  `outbox.py`); nothing leaves the machine.

Both give `service(warehouse)`, a `DeliveryService` on the run's warehouse (ledger and outbox).
Tests override the key like `gridledger`: `build_defs({"delivery": OutboxDelivery()})`.
Plain-Python callers without Dagster use `default_service(warehouse)` (channels from env).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from dagster import ConfigurableResource

from notifications.channels import ENV_VARS, ChannelConfig
from notifications.service import DEFAULT_LEDGER_BATCH, DeliveryService

DELIVERY_KEY = "delivery"  # the resource key the assets use


class DeliveryResource(ConfigurableResource):
    """How notices are delivered; `service(warehouse)` is what an asset sends through."""

    max_attempts: int = 3
    backoff_seconds: list[float] = [0.5, 1.0, 2.0]
    retry_expiry_hours: float = 24.0  # unreached contacts are retried for this long
    ledger_batch: int = DEFAULT_LEDGER_BATCH  # recipients queued, sent and recorded together

    def channels(self) -> ChannelConfig:
        raise NotImplementedError

    def service(self, warehouse: Path | str) -> DeliveryService:
        """The delivery service on `warehouse` (its ledger and outbox) with these channels."""
        return DeliveryService(warehouse, self.channels(), max_attempts=self.max_attempts,
                               backoff_seconds=tuple(self.backoff_seconds),
                               retry_expiry=timedelta(hours=self.retry_expiry_hours),
                               ledger_batch=self.ledger_batch)


class LiveDelivery(DeliveryResource):
    """Apprise URL templates per channel (see `channels.py`); empty ones use the outbox."""

    sms_url: str = ""
    smtp_url: str = ""
    webhook_url: str = ""
    outbox_url: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LiveDelivery:
        """The URLs from `GRIDLEDGER_SMS_URL`, `_SMTP_URL`, `_WEBHOOK_URL`, `_OUTBOX_URL`."""
        env = os.environ if environ is None else environ
        return cls(**{field: env.get(var, "") for field, var in _FIELDS.items()})

    def channels(self) -> ChannelConfig:
        return ChannelConfig.from_env({var: getattr(self, field) for field, var in _FIELDS.items()})


class OutboxDelivery(DeliveryResource):
    """Every channel goes to the warehouse outbox (`notify.outbox`)."""

    def channels(self) -> ChannelConfig:
        return ChannelConfig()


_FIELDS = {"sms_url": ENV_VARS["sms"], "smtp_url": ENV_VARS["email"],
           "webhook_url": ENV_VARS["webhook"], "outbox_url": ENV_VARS["outbox"]}


def default_service(warehouse: Path | str) -> DeliveryService:
    """The service a caller outside Dagster gets: channels from the `GRIDLEDGER_*_URL` variables."""
    return LiveDelivery.from_env().service(warehouse)


__all__ = [
    "DELIVERY_KEY", "DeliveryResource", "LiveDelivery", "OutboxDelivery", "default_service",
]
