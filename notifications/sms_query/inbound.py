"""Inbound SMS from gateways: one adapter per gateway format, each giving `InboundSms` records.

- `aliyun` (JSON webhook, as 阿里云短信 pushes uplink messages): a JSON array (or one object)
  of `{"sequence_id", "phone_number", "dest_code", "content", "send_time"}`, `send_time`
  China wall-clock time `YYYY-MM-DD HH:MM:SS`; `sign_name` and other fields are ignored.
- `twilio` (form-encoded, as Twilio posts an incoming message): `MessageSid`, `From`, `To`,
  `Body`; no time in the payload, so the service's receiving time is used.

A record the adapter cannot read raises `BadPayload` (the endpoint answers 400, stores nothing).
Numbers are normalised (`normalise_number`): digits only, a leading `+86`/`86`/`0086` dropped
from mobile numbers, so `+86 138-0006-1850` and `13800061850` are the same sender.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs

MAX_TEXT = 500  # characters kept of a message text (a query code is a few)


class BadPayload(ValueError):
    """A gateway request the adapter cannot turn into inbound records."""


@dataclass(frozen=True)
class InboundSms:
    """One inbound message, whatever the gateway: `received_at` is naive China time."""

    gateway: str
    message_id: str
    from_number: str
    to_number: str
    text: str
    received_at: datetime


def normalise_number(number: str) -> str:
    """Digits only; a country prefix 86 (`+86`, `0086`) dropped from an 11-digit mobile."""
    digits = re.sub(r"\D", "", number or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix):]
    return digits


def _required(record: dict, field: str, gateway: str) -> str:
    value = record.get(field)
    if value is None or str(value).strip() == "":
        raise BadPayload(f"{gateway}: field {field!r} missing")
    return str(value).strip()


def _inbound(gateway: str, message_id: str, sender: str, to: str, text: str,
             received_at: datetime) -> InboundSms:
    number = normalise_number(sender)
    if not number:
        raise BadPayload(f"{gateway}: no digits in sender number")
    return InboundSms(gateway, message_id[:128], number, normalise_number(to),
                      text[:MAX_TEXT], received_at)


def parse_aliyun(body: bytes, now: datetime) -> list[InboundSms]:
    """阿里云-style JSON webhook: an array of uplink messages (or one)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayload(f"aliyun: not JSON ({exc})") from None
    records = payload if isinstance(payload, list) else [payload]
    if not records or not all(isinstance(r, dict) for r in records):
        raise BadPayload("aliyun: expected an object or an array of objects")
    messages = []
    for record in records:
        sent = _required(record, "send_time", "aliyun")
        try:
            received_at = datetime.strptime(sent, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise BadPayload(f"aliyun: send_time {sent!r} is not YYYY-MM-DD HH:MM:SS") from None
        messages.append(_inbound(
            "aliyun", _required(record, "sequence_id", "aliyun"),
            _required(record, "phone_number", "aliyun"), str(record.get("dest_code") or ""),
            str(record.get("content") or ""), received_at))
    return messages


def parse_twilio(body: bytes, now: datetime) -> list[InboundSms]:
    """Twilio-style form post of one incoming message; received now."""
    try:
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=True,
                                               keep_blank_values=True).items()}
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(f"twilio: not a form ({exc})") from None
    return [_inbound("twilio", _required(fields, "MessageSid", "twilio"),
                     _required(fields, "From", "twilio"), fields.get("To", ""),
                     fields.get("Body", ""), now)]


Adapter = Callable[[bytes, datetime], list[InboundSms]]
ADAPTERS: dict[str, Adapter] = {"aliyun": parse_aliyun, "twilio": parse_twilio}
