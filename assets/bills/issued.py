"""The record of issued bill documents: `<period>/issued.json`, one per month folder.

A bill document is a document of record: once issued for a bill (`customer:period:run_id`, the
reference `finance.adjustments` quotes) it is never rendered again. The record keeps, per customer,
that reference, the bill number, the SHA-256 of the HTML (and PDF) issued, the issue date and the
adjustments the bill carried; per adjustment notice, its number and SHA-256. The asset carries a
recorded document over byte for byte while the bill is the same; only a new bill (an open month
re-billed) gets a new document.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from foundation.paths import contained

RECORD_NAME = "issued.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_record(folder: Path) -> dict[str, dict[str, Any]]:
    """The month's record (`bills`, `notices`); empty ones when nothing was issued yet."""
    path = folder / RECORD_NAME
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {"bills": record.get("bills", {}), "notices": record.get("notices", {})}


def write_record(folder: Path, record: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True)
    (folder / RECORD_NAME).write_text(text + "\n", encoding="utf-8")


def carry_over(old_folder: Path, new_folder: Path, relative: str) -> bool:
    """Copy an issued file unchanged into the month's new folder; False if it is not there."""
    source = contained(old_folder, relative)
    if not source.is_file():
        return False
    target = contained(new_folder, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return True


def carried_before(root: Path, period: str) -> set[str]:
    """Adjustment ids carried by any bill of a month before `period` (so not pending again)."""
    carried: set[str] = set()
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.is_dir() and not folder.name.startswith(".") and folder.name < period:
            for entry in read_record(folder)["bills"].values():
                carried.update(entry.get("adjustments_carried", []))
    return carried
