"""Rate limit per sender number: at most `limit` messages in a rolling `window`.

The counts are the stored inbound messages themselves (`state.py`), so the limit holds across
restarts and needs no counter table. Over the limit a message is stored `rate_limited`, gets no
data, and the sender gets one short refusal per window (the first message over the limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RateLimit:
    """`limit` messages per `window` per sender."""

    limit: int = 10
    window: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= timedelta(0):
            raise ValueError("a rate limit needs limit >= 1 and a positive window")

    def verdict(self, in_window: int, refused_in_window: bool) -> str:
        """What to do with a message, given the sender's messages in the window (this one
        included) and whether a refusal already went out in it: `answer`, `refuse` (send the
        refusal) or `ignore` (store only)."""
        if in_window <= self.limit:
            return "answer"
        return "ignore" if refused_in_window else "refuse"
