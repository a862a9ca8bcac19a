"""The platform's clock: naive China Standard Time (UTC+8, no daylight saving).

Every naive timestamp the warehouse keeps (reads, edits, workflows) is China wall-clock time;
only the notification ledger keeps naive UTC. Tests inject another clock where it matters.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA_TZ = "Asia/Shanghai"  # IANA name, for DuckDB's timezone()
CST = timezone(timedelta(hours=8), "CST")


def china_now() -> datetime:
    """Now as naive China Standard Time."""
    return datetime.now(CST).replace(tzinfo=None)
