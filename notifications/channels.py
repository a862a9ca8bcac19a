"""Channel configuration as data: channel name -> Apprise URL template.

| channel   | env var                  | example                                                  |
|-----------|--------------------------|----------------------------------------------------------|
| `sms`     | `GRIDLEDGER_SMS_URL`     | `json://127.0.0.1:8025/sms`                              |
| `email`   | `GRIDLEDGER_SMTP_URL`    | `mailto://127.0.0.1:2525?from=noreply@gridledger.local`  |
| `webhook` | `GRIDLEDGER_WEBHOOK_URL` | `json://ops.example/hook`                                |
| `outbox`  | `GRIDLEDGER_OUTBOX_URL`  | `outbox://` (the default for every unconfigured channel) |

The recipient's address is added at send time. A template may say where with `{to}`
(e.g. `twilio://sid:token@from/{to}`); otherwise it goes by scheme: `to=` for `mailto(s)://`
and `outbox://`, the payload field `:to=` for `json(s)://`, `form(s)://` and `xml(s)://`.
Notice metadata travels the same way (`:notice_key=`, `:idempotency_key=`, `:part=`, `:parts=` in
HTTP payloads; `X-Notice-Key`/`X-Idempotency-Key` headers on email). Each part's own key
(`ledger.part_key`) goes in the `Idempotency-Key` HTTP header; for email the service makes it
the `Message-ID`. A receiver can drop duplicates by it. URLs may hold credentials: show them
only through `masked()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from notifications.masking import mask_url

CHANNELS: tuple[str, ...] = ("sms", "email", "webhook", "outbox")
ENV_VARS: dict[str, str] = {
    "sms": "GRIDLEDGER_SMS_URL",
    "email": "GRIDLEDGER_SMTP_URL",
    "webhook": "GRIDLEDGER_WEBHOOK_URL",
    "outbox": "GRIDLEDGER_OUTBOX_URL",
}
DEFAULT_URL = "outbox://"
IDEMPOTENCY_HEADER = "Idempotency-Key"  # HTTP header carrying the part key

_EMAIL_SCHEMES = {"mailto", "mailtos"}
_PAYLOAD_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}


def scheme_of(url: str) -> str:
    """The lower-case URL scheme (`json`, `mailto`, `outbox`, ...)."""
    return urlsplit(url).scheme.lower()


@dataclass(frozen=True)
class ChannelConfig:
    """Apprise URL template per channel; channels missing from `urls` use the outbox."""

    urls: Mapping[str, str] = field(default_factory=dict)
    default_url: str = DEFAULT_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChannelConfig:
        """Read the `GRIDLEDGER_*_URL` variables; empty or missing ones fall back to the outbox."""
        env = os.environ if environ is None else environ
        urls = {ch: env[var].strip() for ch, var in ENV_VARS.items() if env.get(var, "").strip()}
        return cls(urls=urls, default_url=urls.get("outbox", DEFAULT_URL))

    def template(self, channel: str) -> str:
        """The configured template for `channel`, or the outbox default."""
        return self.urls.get(channel) or self.default_url

    @property
    def uses_outbox(self) -> bool:
        """Whether any channel writes to an outbox."""
        return any(scheme_of(self.template(ch)) == "outbox" for ch in CHANNELS)

    @property
    def outbox_only(self) -> bool:
        """Whether every channel writes to an outbox: no message leaves the machine."""
        return all(scheme_of(self.template(ch)) == "outbox" for ch in CHANNELS)

    def url_for(self, channel: str, address: str, meta: Mapping[str, str] | None = None) -> str:
        """The concrete Apprise URL that sends one message on `channel` to `address`."""
        template = self.template(channel)
        scheme = scheme_of(template)
        meta = dict(meta or {})
        params: list[str] = []
        if "{to}" in template:
            url = template.replace("{to}", quote(address, safe="@+"))
        else:
            url = template
            prefix = ":" if scheme in _PAYLOAD_SCHEMES else ""
            params.append(f"{prefix}to={quote(address, safe='')}")
        if scheme in _PAYLOAD_SCHEMES:
            params += [
                f":{k}={quote(v, safe='')}" for k, v in meta.items() if k != "part_key"
            ]
            if "part_key" in meta:  # an HTTP header the gateway can deduplicate on
                params.append(f"+{IDEMPOTENCY_HEADER}={quote(meta['part_key'], safe='')}")
        elif scheme in _EMAIL_SCHEMES:
            headers = {"notice_key": "X-Notice-Key", "idempotency_key": "X-Idempotency-Key"}
            params += [
                f"+{headers[k]}={quote(v, safe='')}" for k, v in meta.items() if k in headers
            ]
        elif scheme == "outbox":
            params += [f"channel={quote(channel, safe='')}"]
            keep = {"notice_key", "part_key"} | (
                {"warehouse"} if "warehouse=" not in template else set())
            params += [f"{k}={quote(v, safe='')}" for k, v in meta.items() if k in keep]
        if not params:
            return url
        return url + ("&" if "?" in url else "?") + "&".join(params)

    def masked(self) -> dict[str, str]:
        """Every channel's template with credentials hidden, for logs and docs."""
        return {ch: mask_url(self.template(ch)) for ch in CHANNELS}

    def __repr__(self) -> str:
        return f"ChannelConfig({self.masked()!r})"
