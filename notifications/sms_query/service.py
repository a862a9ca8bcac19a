"""The SMS query service without HTTP: verify, parse, store once, decide, answer, reply.

`SmsQueryService.handle(gateway, body, signature)` is everything the endpoint does. Messages are
handled one at a time (a lock: the service's file has one writer, and a re-delivery racing its
original must find it stored). Per message:

1. stored in `sms.inbound` unless (gateway, message_id) is already there (then: `duplicate`,
   nothing else happens);
2. rate limit (`ratelimit.py`) over the sender's stored messages: over it, `rate_limited`, one
   short refusal per window and no data;
3. the sender's number matched to a customer contact in the service snapshot; no match:
   `unknown_number`, a refusal with no data;
4. the code (`codes.py`) answered from the snapshot as of the day the gateway received it
   (`answers.py`), or the help text for an unknown code;
5. the outcome recorded, then the reply sent by `DeliveryService` (notice type `sms_reply`,
   notice key `sms_reply:<gateway>:<message_id>`, SMS only), which writes its delivery-ledger row
   in the service's file: a reply is sent once per message, even if asked again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from foundation.clock import china_now
from foundation.paths import service_snapshot_path, sms_state_path
from notifications.channels import ChannelConfig
from notifications.recipients import Recipient
from notifications.service import DeliveryService
from notifications.sms_query.answers import Contact, answer, lookup_contact
from notifications.sms_query.codes import HELP, QueryCodes
from notifications.sms_query.inbound import ADAPTERS, BadPayload, InboundSms
from notifications.sms_query.ratelimit import RateLimit
from notifications.sms_query.signature import secrets_from_env, verify
from notifications.sms_query.state import Outcome, StateStore

log = logging.getLogger(__name__)

NOTICE_TYPE = "sms_reply"
RATE_LIMIT_ENV = "GRIDLEDGER_SMS_RATE_LIMIT"
RATE_WINDOW_ENV = "GRIDLEDGER_SMS_RATE_WINDOW_SECONDS"


@dataclass(frozen=True)
class Settings:
    """Where the service reads and writes, its secrets, limit, codes and reply channel."""

    snapshot: Path
    state: Path
    secrets: Mapping[str, str]
    rate_limit: RateLimit = field(default_factory=RateLimit)
    codes: QueryCodes = field(default_factory=QueryCodes.load)
    channels: ChannelConfig = field(default_factory=ChannelConfig)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Paths beside `$GRIDLEDGER_WAREHOUSE` (`$GRIDLEDGER_SERVICE_SNAPSHOT`,
        `$GRIDLEDGER_SMS_STATE`), `$GRIDLEDGER_SMS_SECRET_<GATEWAY>`, `$GRIDLEDGER_SMS_RATE_LIMIT`
        (default 10) per `$GRIDLEDGER_SMS_RATE_WINDOW_SECONDS` (3600), `$GRIDLEDGER_SMS_CODES`,
        replies through `$GRIDLEDGER_SMS_URL` (else the outbox in the service's file)."""
        env = os.environ if environ is None else environ
        return cls(
            snapshot=service_snapshot_path(),
            state=sms_state_path(),
            secrets=secrets_from_env(list(ADAPTERS), env),
            rate_limit=RateLimit(int(env.get(RATE_LIMIT_ENV) or 10),
                                 timedelta(seconds=float(env.get(RATE_WINDOW_ENV) or 3600))),
            codes=QueryCodes.load(env.get("GRIDLEDGER_SMS_CODES") or None),
            channels=ChannelConfig.from_env(env),
        )


@dataclass(frozen=True)
class Handled:
    """The endpoint's answer: HTTP status and JSON body."""

    status_code: int
    body: dict[str, Any]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def reply_key(message: InboundSms) -> str:
    """The notice key of a message's reply: one reply per gateway message."""
    return f"{NOTICE_TYPE}:{message.gateway}:{message.message_id}"


def unknown_contact_id(number: str) -> str:
    """A ledger contact id for a number on no contact (no digits of the number in it)."""
    return "sms-sender-" + hashlib.sha256(number.encode()).hexdigest()[:16]


class SmsQueryService:
    """Inbound SMS in, one reply per stored message out."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = StateStore(settings.state)
        self.delivery = DeliveryService(settings.state, settings.channels,
                                        backoff_seconds=(0.2, 0.5))
        self._lock = threading.Lock()

    def handle(self, gateway: str, body: bytes, signature: str | None) -> Handled:
        """Authenticate, parse and handle one gateway request."""
        adapter = ADAPTERS.get(gateway)
        if adapter is None:
            return Handled(404, {"error": f"unknown gateway {gateway!r}"})
        if not verify(self.settings.secrets.get(gateway), body, signature):
            return Handled(401, {"error": "bad or missing signature"})
        try:
            messages = adapter(body, china_now().replace(microsecond=0))
        except BadPayload as exc:
            return Handled(400, {"error": str(exc)})
        with self._lock:
            results = [self._handle_one(m) for m in messages]
        return Handled(200, {"messages": results})

    def _handle_one(self, message: InboundSms) -> dict[str, str]:
        now = _utcnow()
        if not self.state.store(message, now):
            return {"message_id": message.message_id, "status": "duplicate"}
        outcome, context, recipient = self._decide(message, now)
        if context is not None:
            outcome = replace(outcome, notice_key=reply_key(message))
        self.state.settle(message, outcome)
        if context is not None and recipient is not None:
            report = self.delivery.deliver(outcome.notice_key, NOTICE_TYPE, context, [recipient])
            if report.unreached:
                log.warning("reply %s not delivered yet (retry queue)", outcome.notice_key)
        return {"message_id": message.message_id, "status": outcome.status}

    def _decide(self, message: InboundSms, now: datetime
                ) -> tuple[Outcome, dict[str, Any] | None, Recipient | None]:
        """The outcome, the reply's template context (None: no reply) and its recipient."""
        limit = self.settings.rate_limit
        in_window, refused = self.state.window(message.from_number, now - limit.window)
        verdict = limit.verdict(in_window, refused)
        contact = lookup_contact(self.settings.snapshot, message.from_number)
        recipient = self._recipient(message.from_number, contact)
        if verdict != "answer":
            context = {"kind": "rate_limited"} if verdict == "refuse" else None
            return Outcome("rate_limited"), context, recipient
        if contact is None:
            return Outcome("unknown_number"), {"kind": "unknown_number"}, recipient
        query = self.settings.codes.query_of(message.text)
        ids = {"query": query, "customer_id": contact.customer_id,
               "contact_id": contact.contact_id}
        if query == HELP:
            return (Outcome("help", **ids),
                    {"kind": "help", "codes": self.settings.codes.listing()}, recipient)
        context = answer(self.settings.snapshot, query, contact.customer_id,
                         message.received_at.date())
        return Outcome("answered", **ids), {"kind": query, **context}, recipient

    @staticmethod
    def _recipient(number: str, contact: Contact | None) -> Recipient:
        """The reply goes by SMS to the number that asked."""
        if contact is None:
            return Recipient(unknown_contact_id(number), phone=number, channels=("sms",))
        return Recipient(contact.contact_id, contact.contact_name, contact.customer_id,
                         "customer_contact", phone=number, channels=("sms",))
