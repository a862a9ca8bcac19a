"""DeliveryService: send one notice to many recipients, once each, with retries and fallback.

For each recipient the channels are tried in the contact's preference order (`sms;email`):

1. If any of the recipient's ledger rows for this notice is delivered, nothing is sent: the
   contact has been reached (a later run never adds an SMS to an email that already arrived).
2. Otherwise the channel's row is written `queued` (inserted, or re-queued if it had failed)
   *before* anything leaves.
3. The message is sent through Apprise up to `max_attempts` times, sleeping
   `backoff_seconds[i]` between attempts; every attempt is counted in the ledger.
4. Success marks the row `sent` and ends the recipient. Final failure marks it `failed` with
   the (scrubbed) last error and falls back to the next channel, which has its own row.

Calling `deliver` again with the same notice_key therefore retries exactly the recipients not
yet reached; a receiver that comes back gets the message once.

At-least-once window, stated honestly: a message that left but whose `sent` update did not
reach the ledger (process killed in between, warehouse locked by another writer) stays
`queued` and is sent again by the next run. Long SMS go out as separate segments and the
ledger records each accepted segment (`parts_sent`), so a retry resumes after the last recorded
segment; the same window applies per segment. Every HTTP payload carries `idempotency_key`
(and `part`/`parts`), every email `X-Idempotency-Key`; each part also carries its own key
(`part_key`) as the HTTP `Idempotency-Key` header or the email `Message-ID`, so a receiver can
drop such a duplicate. No warehouse connection is open while a part is sent or during back-off.

Contacts left unreached are queued in `restricted.notice_retry_queue` with their rendered message;
`retry_pending` re-delivers them until the notice expires (`retry_expiry`, default 24 h).
Runs for the same notice must not overlap (DuckDB's single writer makes that the natural case).

Many notices at once go inside `with service.batch():`. When every channel is the outbox the
warehouse is held open for the block (the ~130 ms open and close per ledger write and outbox
row, five or more a message, become one); with any channel that leaves the machine the block
holds nothing, as above.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import apprise
import pandas as pd
from apprise.plugins.email import base as _apprise_email

from foundation.paths import WAREHOUSE_ENV, warehouse_path
from notifications.channels import CHANNELS, ChannelConfig, scheme_of
from notifications.ledger import Ledger, LedgerRow, RetryItem, part_key
from notifications.masking import mask_recipient, mask_url, scrub
from notifications.outbox import outbox_session
from notifications.recipients import Recipient, recipients_by_id
from notifications.templates import RenderedNotice, render, sms_segments

log = logging.getLogger(__name__)

DEFAULT_RETRY_EXPIRY = timedelta(hours=24)

# Apprise gives every email a random Message-ID (and appends custom headers before it, so a
# `+Message-ID=` URL argument would make two). While a part is sent, its Message-ID is the part
# key: the SMTP side can drop a part it already accepted.
_MESSAGE_ID: ContextVar[str | None] = ContextVar("gridledger_message_id", default=None)
_apprise_make_msgid = _apprise_email.make_msgid


def _make_msgid(*args: Any, **kwargs: Any) -> str:
    return _MESSAGE_ID.get() or _apprise_make_msgid(*args, **kwargs)


_apprise_email.make_msgid = _make_msgid


def message_id(key: str) -> str:
    """The email Message-ID of a part key."""
    return f"<{key}@gridledger.notice>"

Context = Mapping[str, Any] | Callable[[Recipient], Mapping[str, Any]]


@dataclass(frozen=True)
class ChannelOutcome:
    """What happened to one recipient x channel in one `deliver` call."""

    contact_id: str
    channel: str
    status: str  # sent | failed | already_sent
    attempts: int  # attempts made in this call
    error: str | None = None


@dataclass
class DeliveryReport:
    """Outcomes of one `deliver` call, in recipient and channel order."""

    notice_key: str
    notice_type: str
    outcomes: list[ChannelOutcome] = field(default_factory=list)

    def _with(self, status: str) -> list[ChannelOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def sent(self) -> list[ChannelOutcome]:
        """Messages delivered by this call."""
        return self._with("sent")

    @property
    def failed(self) -> list[ChannelOutcome]:
        """Channels that failed in this call (a fallback may still have reached the contact)."""
        return self._with("failed")

    @property
    def already_sent(self) -> list[ChannelOutcome]:
        """Channels skipped because an earlier call delivered them."""
        return self._with("already_sent")

    @property
    def reached(self) -> list[str]:
        """Contacts who have the notice (now or from an earlier call)."""
        ids = {o.contact_id for o in self.outcomes if o.status in ("sent", "already_sent")}
        return sorted(ids)

    @property
    def unreached(self) -> list[str]:
        """Contacts for whom every channel failed; a later `deliver` retries them."""
        return sorted({o.contact_id for o in self.outcomes} - set(self.reached))


@dataclass
class DeliveryTally:
    """Counts per notice type over many `deliver` calls, for run metadata.

    `sent`: messages delivered in these calls; `failed`: channel deliveries that failed (a
    fallback may still have reached the contact); `unreached`: contacts left without the notice,
    whom the retry (`DeliveryService.retry_pending`) tries again until the notice expires.
    """

    counts: dict[str, Counter] = field(default_factory=dict)

    def add(self, report: DeliveryReport) -> DeliveryReport:
        c = self.counts.setdefault(report.notice_type, Counter(sent=0, failed=0, unreached=0))
        c["sent"] += len(report.sent)
        c["failed"] += len(report.failed)
        c["unreached"] += len(report.unreached)
        return report

    def total(self, what: str) -> int:
        return sum(c[what] for c in self.counts.values())

    @property
    def unreached(self) -> int:
        return self.total("unreached")

    def metadata(self) -> dict[str, Any]:
        """`{notice_type: {sent, failed, unreached}}` plus the totals."""
        return {
            "notice_counts": {t: dict(c) for t, c in sorted(self.counts.items())},
            "notices_sent": self.total("sent"),
            "notices_failed": self.total("failed"),
            "contacts_unreached": self.unreached,
        }


@dataclass
class RetryReport:
    """What one `retry_pending` call did."""

    reports: list[DeliveryReport] = field(default_factory=list)
    expired: int = 0  # queued retries dropped because their notice expired
    dropped: int = 0  # queued retries whose contact is no longer on file

    @property
    def tally(self) -> DeliveryTally:
        tally = DeliveryTally()
        for report in self.reports:
            tally.add(report)
        return tally


class DeliveryService:
    """The one way the platform sends notices: templates -> ledger -> Apprise channels."""

    def __init__(
        self,
        warehouse: Path | str,
        channels: ChannelConfig | None = None,
        max_attempts: int = 3,
        backoff_seconds: Sequence[float] = (0.5, 1.0, 2.0),
        sleep: Callable[[float], None] = time.sleep,
        retry_expiry: timedelta = DEFAULT_RETRY_EXPIRY,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.warehouse = Path(warehouse)
        self.channels = channels if channels is not None else ChannelConfig()
        self.max_attempts = max_attempts
        self.backoff_seconds = tuple(backoff_seconds) or (0.0,)
        self.sleep = sleep
        self.retry_expiry = retry_expiry
        self.ledger = Ledger(self.warehouse)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> DeliveryService:
        """Warehouse from $GRIDLEDGER_WAREHOUSE, channels from the `GRIDLEDGER_*_URL` variables."""
        env = os.environ if environ is None else environ
        warehouse = Path(env[WAREHOUSE_ENV]) if env.get(WAREHOUSE_ENV) else warehouse_path()
        return cls(warehouse, ChannelConfig.from_env(env), **kwargs)

    def deliver(
        self,
        notice_key: str,
        notice_type: str,
        context: Context,
        recipients: Iterable[Recipient],
    ) -> DeliveryReport:
        """Deliver `notice_type` rendered from `context` to every recipient, exactly once.

        `notice_key` names the notice (e.g. `curtailment_notice:P20250701:v1`); calls with the
        same key are retries of the same notice. `context` is a mapping, or a function of the
        recipient for per-recipient text; `contact_name` is filled in from the recipient.
        All messages are rendered before anything is queued, so a template error sends nothing.
        """
        unique = list({r.contact_id: r for r in recipients}.values())
        messages = {r.contact_id: self._render(notice_type, context, r) for r in unique}
        return self._deliver_messages(notice_key, notice_type, messages, unique)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Deliver many notices in the block, each with `deliver` as usual.

        With only outbox channels the warehouse is held open for the block (`Ledger.held`,
        `outbox_session`): the same rows, without reopening the file per write. With any channel
        that leaves the machine nothing is held: no connection while a message is on the wire.
        """
        if not self.channels.outbox_only:
            yield
            return
        with self.ledger.held(), outbox_session(self.warehouse):
            yield

    def retry_pending(self) -> RetryReport:
        """Deliver again, once each, the notices whose contacts an earlier call did not reach.

        `deliver` queues every unreached contact's rendered message in the retry queue
        until `retry_expiry` after the first failure. This sends the queued messages that have
        not expired (addresses are read again from `restricted.contacts`), drops expired ones,
        and clears every contact it reaches; the ledger keeps it from sending anything twice.
        """
        now = self.ledger.clock()
        result = RetryReport(expired=self.ledger.expire_retries(now))
        pending = self.ledger.pending_retries(now)
        if not pending:
            return result
        with self.ledger.connect() as con:  # short: read the contacts, then close
            people = {r.contact_id: r for r in recipients_by_id(
                con, sorted({item.contact_id for item in pending}))}
        by_notice: dict[str, list[RetryItem]] = {}
        for item in pending:
            by_notice.setdefault(item.notice_key, []).append(item)
        for notice_key, items in by_notice.items():
            known = [i for i in items if i.contact_id in people]
            gone = [i.contact_id for i in items if i.contact_id not in people]
            if gone:
                result.dropped += self.ledger.clear_retries(notice_key, gone)
            if not known:
                continue
            messages = {i.contact_id: RenderedNotice(i.title or "", i.body) for i in known}
            result.reports.append(self._deliver_messages(
                notice_key, known[0].notice_type, messages,
                [people[i.contact_id] for i in known],
            ))
        return result

    def _deliver_messages(
        self, notice_key: str, notice_type: str, messages: Mapping[str, RenderedNotice],
        unique: list[Recipient],
    ) -> DeliveryReport:
        """Send rendered messages (contact id -> message); the ledger is opened only briefly."""
        delivered: dict[str, list[LedgerRow]] = {}
        for row in self.ledger.rows(notice_key):
            if row.delivered:
                delivered.setdefault(row.contact_id, []).append(row)
        report = DeliveryReport(notice_key, notice_type)
        for recipient in unique:
            earlier = delivered.get(recipient.contact_id)
            if earlier:
                report.outcomes += [
                    ChannelOutcome(r.contact_id, r.channel, "already_sent", 0) for r in earlier
                ]
                continue
            report.outcomes += self._deliver_to(
                notice_key, notice_type, messages[recipient.contact_id], recipient
            )
        self.ledger.update_retries(
            notice_key, notice_type,
            [(cid, messages[cid].title, messages[cid].body) for cid in report.unreached],
            reached=report.reached, expires_at=self.ledger.clock() + self.retry_expiry,
        )
        log.info(
            "notice %s: %d sent, %d failed, %d already sent, unreached %s", notice_key,
            len(report.sent), len(report.failed), len(report.already_sent), report.unreached,
        )
        return report

    def acknowledge(self, notice_key: str, contact_id: str, source: str = "reply") -> bool:
        """Record a recipient's confirmation of a notice (see `Ledger.acknowledge`)."""
        return self.ledger.acknowledge(notice_key, contact_id, source)

    def delivery_stats(self, period: str | None = None) -> pd.DataFrame:
        """Sent/succeeded/failed/acknowledged per notice type (see `Ledger.delivery_stats`)."""
        return self.ledger.delivery_stats(period)

    # -- internals -------------------------------------------------------------------------

    @staticmethod
    def _render(notice_type: str, context: Context, recipient: Recipient) -> RenderedNotice:
        values = dict(context(recipient) if callable(context) else context)
        values.setdefault("contact_name", recipient.contact_name or "")
        return render(notice_type, values)

    def _deliver_to(
        self, notice_key: str, notice_type: str, message: RenderedNotice, recipient: Recipient
    ) -> list[ChannelOutcome]:
        """Try the recipient's channels in order until one delivers."""
        outcomes: list[ChannelOutcome] = []
        for channel in recipient.channels:
            address = recipient.address(channel)
            parts = self._parts(channel, message)
            row = self.ledger.enqueue(
                notice_key=notice_key, notice_type=notice_type,
                contact_id=recipient.contact_id, channel=channel,
                recipient_masked=mask_recipient(address), parts_total=len(parts),
            )
            if row.delivered:
                outcomes.append(ChannelOutcome(row.contact_id, channel, "already_sent", 0))
                return outcomes
            if channel not in CHANNELS or address is None:
                error = (
                    f"unsupported channel {channel!r}" if channel not in CHANNELS
                    else f"no {channel} address on file"
                )
                self.ledger.mark_failed(row.idempotency_key, error)
                outcomes.append(ChannelOutcome(row.contact_id, channel, "failed", 0, error))
                continue
            error, attempts = self._send_with_retries(row, address, parts)
            if error is None:
                outcomes.append(ChannelOutcome(row.contact_id, channel, "sent", attempts))
                return outcomes
            outcomes.append(ChannelOutcome(row.contact_id, channel, "failed", attempts, error))
            log.warning(
                "notice %s to %s via %s failed after %d attempts: %s",
                notice_key, row.recipient_masked, channel, attempts, error,
            )
        return outcomes

    @staticmethod
    def _parts(channel: str, message: RenderedNotice) -> list[tuple[str, str]]:
        """(title, body) per message to send: SMS text is segmented and has no title."""
        if channel == "sms":
            return [("", segment) for segment in sms_segments(message.body)]
        return [(message.title, message.body)]

    def _send_with_retries(
        self, row: LedgerRow, address: str, parts: list[tuple[str, str]]
    ) -> tuple[str | None, int]:
        """Send the remaining parts; return (last error or None, attempts made).

        The last attempt's ledger write also sets the verdict (`sent` or `failed`).
        """
        done = min(row.parts_sent, len(parts))
        error: str | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self.backoff_seconds[min(attempt - 1, len(self.backoff_seconds) - 1)])
            error = None
            while done < len(parts):
                title, body = parts[done]
                key = part_key(row.notice_key, row.contact_id, row.channel, done + 1)
                error = self._send_once(
                    self._url(row, address, done, len(parts), key), title, body,
                    message_id(key) if row.channel == "email" else None,
                )
                if error is not None:
                    break
                done += 1
                if done < len(parts):
                    self.ledger.record_part(row.idempotency_key, done)
            final = error is None or attempt == self.max_attempts - 1
            status = ("sent" if error is None else "failed") if final else None
            self.ledger.record_attempt(
                row.idempotency_key, parts_sent=done, error=error, status=status
            )
            if error is None:
                return None, attempt + 1
        return error, self.max_attempts

    def _url(self, row: LedgerRow, address: str, index: int, total: int, key: str) -> str:
        meta = {
            "notice_key": row.notice_key,
            "notice_type": row.notice_type,
            "idempotency_key": row.idempotency_key,
            "part_key": key,
        }
        if row.channel == "sms":
            meta |= {"part": str(index + 1), "parts": str(total)}
        if scheme_of(self.channels.template(row.channel)) == "outbox":
            meta["warehouse"] = str(self.warehouse.resolve())
        return self.channels.url_for(row.channel, address, meta)

    @staticmethod
    def _send_once(url: str, title: str, body: str, msgid: str | None = None) -> str | None:
        """One Apprise send; the error text (from Apprise's captured logs) or None on success.

        No warehouse connection is open here (nor during the back-off sleeps).
        """
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return scrub(f"invalid channel URL {mask_url(url)}")
        token = _MESSAGE_ID.set(msgid)
        try:
            result = notifier.notify(
                body=body, title=title, body_format=apprise.NotifyFormat.TEXT
            )
        finally:
            _MESSAGE_ID.reset(token)
        if result:
            return None
        messages = [entry.message for entry in result.logs()]
        return scrub("; ".join(messages) or f"apprise status {result.status.name}")
