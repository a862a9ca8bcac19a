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

Many notices go through `deliver_many` (`deliver` is one notice of it): the ledger rows of all
of them are read in one query, and the recipients are taken in chunks of `ledger_batch` (200):
the chunk's rows are queued in one transaction, its messages sent with no warehouse connection
open, and each attempt round's verdicts written in one transaction; a fallback channel is the
chunk's next round. The retry queue is updated once at the end. When every channel is the
outbox, nothing leaves the machine: the warehouse is held open for the call, the whole call is
one chunk, and the outbox's messages are written in the same transaction as their `sent`
verdicts (exactly once).

At-least-once window, stated honestly: a message that left but whose `sent` verdict did not
reach the ledger (process killed before its chunk's write, warehouse locked by another writer)
stays `queued` and is sent again by the next run: at most one chunk of messages. Long SMS go
out as separate segments and each attempt's write records the segments accepted (`parts_sent`),
so a retry resumes after the last recorded segment. Every HTTP payload carries
`idempotency_key` (and `part`/`parts`), every email `X-Idempotency-Key`; each part also carries
its own key (`part_key`) as the HTTP `Idempotency-Key` header or the email `Message-ID`, so a
receiver can drop such a duplicate. No warehouse connection is open while a part is sent or
during back-off.

Contacts left unreached are queued in `restricted.notice_retry_queue` with their rendered message;
`retry_pending` re-delivers them until the notice expires (`retry_expiry`, default 24 h).
Runs for the same notice must not overlap (DuckDB's single writer makes that the natural case).
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
from typing import Any, NamedTuple

import apprise
import pandas as pd
from apprise.plugins.email import base as _apprise_email

from foundation.paths import WAREHOUSE_ENV, warehouse_path
from notifications.channels import CHANNELS, ChannelConfig, scheme_of
from notifications.ledger import (
    Attempt,
    Ledger,
    LedgerRow,
    QueueEntry,
    RetryChange,
    RetryItem,
    part_key,
)
from notifications.masking import mask_recipient, mask_url, scrub
from notifications.outbox import (
    outbox_session,
    take_outbox,
    write_outbox_rows,
    write_sent_copies,
)
from notifications.recipients import Recipient, recipients_by_id
from notifications.templates import RenderedNotice, render, sms_segments

log = logging.getLogger(__name__)

DEFAULT_RETRY_EXPIRY = timedelta(hours=24)
# Recipients per chunk when messages leave the machine: their rows are queued together before
# any is sent, and their verdicts written together after (see the module docstring).
DEFAULT_LEDGER_BATCH = 200

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


@dataclass(frozen=True)
class Notice:
    """One notice to deliver: its key, its type, the template's values, its recipients."""

    key: str
    notice_type: str
    context: Context
    recipients: Sequence[Recipient]


class _Rendered(NamedTuple):
    """A notice with every recipient's message rendered."""

    key: str
    notice_type: str
    messages: Mapping[str, RenderedNotice]  # contact_id -> message
    recipients: list[Recipient]  # each contact once


def message_parts(channel: str, message: RenderedNotice) -> list[tuple[str, str]]:
    """(title, body) per message to send: SMS text is segmented and has no title."""
    if channel == "sms":
        return [("", segment) for segment in sms_segments(message.body)]
    return [(message.title, message.body)]


@dataclass
class _Recipient:
    """One recipient of one notice, tried channel by channel."""

    notice_key: str
    notice_type: str
    recipient: Recipient
    message: RenderedNotice
    channel_index: int = 0
    reached: bool = False
    outcomes: list[ChannelOutcome] = field(default_factory=list)
    parts: list[tuple[str, str]] = field(default_factory=list)  # on the current channel

    @property
    def channel(self) -> str:
        return self.recipient.channels[self.channel_index]

    @property
    def address(self) -> str | None:
        return self.recipient.address(self.channel)

    def next_channel(self) -> bool:
        """Move to the next channel in the contact's preference; False when none is left."""
        self.channel_index += 1
        return self.channel_index < len(self.recipient.channels)


@dataclass
class _Sending:
    """A message on its way: its ledger row, the parts accepted, this call's attempts."""

    item: _Recipient
    row: LedgerRow
    done: int
    attempts: int = 0
    error: str | None = None

    def attempt(self, final: bool) -> Attempt:
        """The ledger write of the latest attempt; the last one also sets the verdict."""
        status = "sent" if self.error is None else ("failed" if final else None)
        return Attempt(self.row.idempotency_key, self.done, self.error, status)


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
        ledger_batch: int = DEFAULT_LEDGER_BATCH,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.warehouse = Path(warehouse)
        self.channels = channels if channels is not None else ChannelConfig()
        self.max_attempts = max_attempts
        self.backoff_seconds = tuple(backoff_seconds) or (0.0,)
        self.sleep = sleep
        self.retry_expiry = retry_expiry
        self.ledger_batch = max(ledger_batch, 1)
        self.ledger = Ledger(self.warehouse)
        self._notifier = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))

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
        """Deliver one notice: `deliver_many([Notice(notice_key, notice_type, context,
        recipients)])`."""
        return self.deliver_many([Notice(notice_key, notice_type, context, tuple(recipients))])[0]

    def deliver_many(self, notices: Iterable[Notice]) -> list[DeliveryReport]:
        """Deliver every notice to each of its recipients, exactly once; a report per notice.

        `Notice.key` names the notice (e.g. `curtailment_notice:P20250701:v1`); calls with the
        same key are retries of the same notice. `context` is a mapping, or a function of the
        recipient for per-recipient text; `contact_name` is filled in from the recipient.
        All messages are rendered before anything is queued, so a template error sends nothing.
        """
        rendered = []
        for notice in notices:
            unique = list({r.contact_id: r for r in notice.recipients}.values())
            messages = {r.contact_id: self._render(notice.notice_type, notice.context, r)
                        for r in unique}
            rendered.append(_Rendered(notice.key, notice.notice_type, messages, unique))
        return self._deliver_rendered(rendered)

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
        rendered = []
        for notice_key, items in by_notice.items():
            known = [i for i in items if i.contact_id in people]
            gone = [i.contact_id for i in items if i.contact_id not in people]
            if gone:
                result.dropped += self.ledger.clear_retries(notice_key, gone)
            if known:
                rendered.append(_Rendered(
                    notice_key, known[0].notice_type,
                    {i.contact_id: RenderedNotice(i.title or "", i.body) for i in known},
                    [people[i.contact_id] for i in known],
                ))
        result.reports = self._deliver_rendered(rendered)
        return result

    def _deliver_rendered(self, notices: list[_Rendered]) -> list[DeliveryReport]:
        """Deliver rendered notices; a notice key given twice is delivered twice, in order
        (the second time a retry of the first)."""
        reports: list[DeliveryReport | None] = [None] * len(notices)
        seen: Counter[str] = Counter()
        waves: dict[int, list[int]] = {}  # the n-th time a key appears goes in wave n
        for i, notice in enumerate(notices):
            waves.setdefault(seen[notice.key], []).append(i)
            seen[notice.key] += 1
        for wave in waves.values():
            for i, report in zip(wave, self._deliver_wave([notices[i] for i in wave]),
                                 strict=True):
                reports[i] = report
        return [r for r in reports if r is not None]

    def _deliver_wave(self, notices: list[_Rendered]) -> list[DeliveryReport]:
        """Deliver notices with distinct keys: the ledger read once, rows queued, messages sent
        and verdicts written per chunk of `ledger_batch` recipients, the retry queue updated
        once."""
        if not notices:
            return []
        with self._session():
            delivered: dict[tuple[str, str], list[LedgerRow]] = {}
            for row in self.ledger.rows_of([n.key for n in notices]):
                if row.delivered:
                    delivered.setdefault((row.notice_key, row.contact_id), []).append(row)
            by_notice: list[list[_Recipient]] = []
            pending: list[_Recipient] = []
            for notice in notices:
                mine = []
                for recipient in notice.recipients:
                    item = _Recipient(notice.key, notice.notice_type, recipient,
                                      notice.messages[recipient.contact_id])
                    earlier = delivered.get((notice.key, recipient.contact_id))
                    if earlier:
                        item.outcomes = [ChannelOutcome(r.contact_id, r.channel,
                                                        "already_sent", 0) for r in earlier]
                    elif recipient.channels:
                        pending.append(item)
                    mine.append(item)
                by_notice.append(mine)
            size = len(pending) if self.channels.outbox_only else self.ledger_batch
            for start in range(0, len(pending), max(size, 1)):
                self._deliver_chunk(pending[start:start + size])
            reports = []
            for notice, items in zip(notices, by_notice, strict=True):
                report = DeliveryReport(notice.key, notice.notice_type,
                                        [o for item in items for o in item.outcomes])
                log.info("notice %s: %d sent, %d failed, %d already sent, unreached %s",
                         notice.key, len(report.sent), len(report.failed),
                         len(report.already_sent), report.unreached)
                reports.append(report)
            self.ledger.update_retries(
                [RetryChange(r.notice_key, r.notice_type,
                             [(cid, n.messages[cid].title, n.messages[cid].body)
                              for cid in r.unreached], r.reached)
                 for n, r in zip(notices, reports, strict=True)],
                expires_at=self.ledger.clock() + self.retry_expiry,
            )
        return reports

    @contextmanager
    def _session(self) -> Iterator[None]:
        """The outbox collects its messages for the ledger's transactions; when every channel is
        the outbox the warehouse is also held open (nothing is on the wire meanwhile)."""
        if not self.channels.uses_outbox:
            yield
        elif not self.channels.outbox_only:
            with outbox_session(self.warehouse):
                yield
        else:
            with self.ledger.held(), outbox_session(self.warehouse):
                yield

    def _deliver_chunk(self, chunk: list[_Recipient]) -> None:
        """Try the recipients' channels in order until one delivers: each round queues the
        current channel of everyone not yet reached, sends, and moves the failed to their next
        channel."""
        current = list(chunk)
        while current:
            for item in current:
                item.parts = message_parts(item.channel, item.message)
            rows = self.ledger.enqueue([
                QueueEntry(i.notice_key, i.notice_type, i.recipient.contact_id, i.channel,
                           mask_recipient(i.address), len(i.parts)) for i in current
            ])
            unusable: list[Attempt] = []
            sending: list[_Sending] = []
            for item, row in zip(current, rows, strict=True):
                if row.delivered:
                    item.outcomes.append(ChannelOutcome(row.contact_id, row.channel,
                                                        "already_sent", 0))
                    item.reached = True
                elif item.channel not in CHANNELS or item.address is None:
                    error = (f"unsupported channel {item.channel!r}" if item.channel not in CHANNELS
                             else f"no {item.channel} address on file")
                    unusable.append(Attempt(row.idempotency_key, None, error, "failed", False))
                    item.outcomes.append(ChannelOutcome(row.contact_id, row.channel, "failed",
                                                        0, error))
                else:
                    sending.append(_Sending(item, row, min(row.parts_sent, len(item.parts))))
            self._send_with_retries(sending, unusable)
            current = [i for i in current if not i.reached and i.next_channel()]

    def _send_with_retries(self, sending: list[_Sending], unusable: list[Attempt]) -> None:
        """Send every message's remaining parts, up to `max_attempts` times each; each attempt
        round's ledger writes (with `unusable`'s, and the outbox's messages) in one transaction.

        No warehouse connection is open while a part is sent or during back-off, unless every
        channel is the outbox.
        """
        written = unusable
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self.backoff_seconds[min(attempt - 1, len(self.backoff_seconds) - 1)])
            final = attempt == self.max_attempts - 1
            for s in sending:
                self._send_parts(s)
            outbox = take_outbox(self.warehouse)
            self.ledger.record(written + [s.attempt(final) for s in sending],
                               before=lambda con, rows=outbox: write_sent_copies(con, rows),
                               also=lambda con, rows=outbox: write_outbox_rows(con, rows))
            written = []
            for s in sending:
                if s.error is None:
                    s.item.outcomes.append(ChannelOutcome(s.row.contact_id, s.row.channel,
                                                          "sent", s.attempts))
                    s.item.reached = True
                elif final:
                    s.item.outcomes.append(ChannelOutcome(s.row.contact_id, s.row.channel,
                                                          "failed", s.attempts, s.error))
                    log.warning("notice %s to %s via %s failed after %d attempts: %s",
                                s.row.notice_key, s.row.recipient_masked, s.row.channel,
                                s.attempts, s.error)
            sending = [s for s in sending if s.error is not None]
            if not sending:
                break

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

    def _send_parts(self, s: _Sending) -> None:
        """One attempt: send the message's parts not yet accepted, stopping at a failure."""
        s.attempts += 1
        s.error = None
        row, parts = s.row, s.item.parts
        while s.done < len(parts):
            title, body = parts[s.done]
            key = part_key(row.notice_key, row.contact_id, row.channel, s.done + 1)
            s.error = self._send_once(
                self._url(row, s.item.address or "", s.done, len(parts), key), title, body,
                message_id(key) if row.channel == "email" else None,
            )
            if s.error is not None:
                return
            s.done += 1

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

    def _send_once(self, url: str, title: str, body: str, msgid: str | None = None) -> str | None:
        """One Apprise send; the error text (from Apprise's captured logs) or None on success.

        No warehouse connection is open here (nor during the back-off sleeps). The service's one
        Apprise object sends in this thread (no thread pool for a single URL).
        """
        notifier = self._notifier
        notifier.clear()
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
