"""Resources: where the warehouse and the data folders are.

The default locations live in `foundation.paths`; everything else asks the resource, so tests
point a whole run at a temporary warehouse with one override.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from foundation.paths import data_dir, warehouse_path


class Gridledger(ConfigurableResource):
    """Warehouse file and data directory of one deployment."""

    warehouse: str
    data_dir: str

    @classmethod
    def from_env(cls) -> Gridledger:
        """Build from `$GRIDLEDGER_WAREHOUSE` and `$GRIDLEDGER_DATA_DIR` (or the defaults)."""
        return cls(warehouse=str(warehouse_path()), data_dir=str(data_dir()))

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse)

    @property
    def landing_dir(self) -> Path:
        return Path(self.data_dir) / "landing" / "reads"

    @property
    def master_dir(self) -> Path:
        return Path(self.data_dir) / "master"

    @property
    def edits_dir(self) -> Path:
        return Path(self.data_dir) / "edits"

    @property
    def quarantine_dir(self) -> Path:
        return Path(self.data_dir) / "quarantine"

    @property
    def inbox_dir(self) -> Path:
        return Path(self.data_dir) / "inbox"
