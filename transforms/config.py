"""SQLMesh on this dbt project (SQLMesh's dbt loader): `sqlmesh` loads `dbt_project.yml` and
`profiles.yml` as they are; this file only adds what SQLMesh needs on top.

Used by `python -m tools.money_preview` to preview a change in the money (tariffs,
packages, settlement SQL) in a virtual dev environment on a SCRATCH COPY of the warehouse.
Never plan `prod` against the warehouse dbt maintains: SQLMesh would take over its tables.

- `model_defaults.start` is the first valid_from of the money config (2025-01-01), not the
  date `sqlmesh init` ran: with a later start a plan backfills nothing (style.md §7 pitfall).
  The window models read `var('min_date')`/`var('max_date')`, whose defaults in
  dbt_project.yml (1900-01-01 … 2999-12-31) make SQLMesh compute every month in one batch.
- Virtual environments for every environment (FULL), and dbt's incremental models as
  rebuildable (not forward-only) kinds: a dev plan then rebuilds each changed model completely
  in its own table, instead of a forward-only "preview" of the last interval only (and without
  running a window's `delete` pre-hook against a dev table that does not exist yet).
- SQLMesh ignores the profile's `attach:`: the restricted file beside the warehouse
  (`<stem>.restricted.duckdb`, as foundation.paths.restricted_path) is added as catalog
  `restricted`, so `source('restricted', ...)` resolves in the scratch copy too.
- The analytics marts (models/marts/analytics) and the forecast models
  (models/analytics/forecast) are disabled here (dbt var `gridledger_sqlmesh`): they read tables
  only analytics_job or forecast_job write, which a scratch copy may not have, and they hold no
  billed money.
- Seeds are read as text and cast to their dbt `column_types`: SQLMesh's pandas reader would
  otherwise turn the PF standard '0.90' into 0.9 (and fail the seed's accepted_values test).
"""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import pandas as pd
from sqlmesh.core.config import ModelDefaultsConfig
from sqlmesh.core.config.common import VirtualEnvironmentMode
from sqlmesh.core.config.plan import PlanConfig
from sqlmesh.core.model import seed as _seed
from sqlmesh.core.model.kind import IncrementalUnmanagedKind
from sqlmesh.dbt.loader import sqlmesh_config
from sqlmesh.dbt.model import ModelConfig

PROJECT = Path(__file__).resolve().parent
START = "2025-01-01"
PRODUCTION_WAREHOUSE = (PROJECT.parent / "var" / "warehouse.duckdb").resolve()


def _read_seed_as_text(self: _seed.CsvSeedReader) -> pd.DataFrame:
    """CsvSeedReader._get_df with every column read as text (sqlmesh 0.236)."""
    if self._df is None:
        settings = {k: v for k, v in self.settings.dict().items() if v is not None}
        self._df = pd.read_csv(StringIO(self.content), index_col=False, on_bad_lines="error",
                               low_memory=False, dtype=str, **settings)
    return self._df


_seed.CsvSeedReader._get_df = _read_seed_as_text
_dbt_model_kind = ModelConfig.model_kind


def _rebuildable_kind(self: ModelConfig, context):  # noqa: ANN001 - sqlmesh's DbtContext
    """dbt incremental models as rebuildable (not forward-only) INCREMENTAL_UNMANAGED kinds."""
    kind = _dbt_model_kind(self, context)
    if isinstance(kind, IncrementalUnmanagedKind) and kind.forward_only:
        kind = kind.model_copy(update={"forward_only": False})
    return kind


ModelConfig.model_kind = _rebuildable_kind

_warehouse = os.environ.get("GRIDLEDGER_WAREHOUSE", str(PRODUCTION_WAREHOUSE))
if Path(_warehouse).resolve() == PRODUCTION_WAREHOUSE and not os.environ.get(
        "GRIDLEDGER_SQLMESH_ON_PRODUCTION"):
    raise RuntimeError(
        f"SQLMesh would run on the production warehouse {PRODUCTION_WAREHOUSE}; use "
        "`python -m tools.money_preview` (a scratch copy) or point "
        "GRIDLEDGER_WAREHOUSE at a copy")

config = sqlmesh_config(
    PROJECT,
    infer_state_schema_name=True,
    virtual_environment_mode=VirtualEnvironmentMode.FULL,
    plan=PlanConfig(always_recreate_environment=True),
    model_defaults=ModelDefaultsConfig(start=START),
    # dbt var read by the models SQLMesh must not plan (models/marts/analytics)
    variables={"gridledger_sqlmesh": True},
)
_restricted = Path(_warehouse).resolve()
_restricted = str(_restricted.with_name(_restricted.stem + ".restricted.duckdb"))
for _gateway in config.gateways.values():  # model_copy: `database` and `catalogs` both set
    _gateway.connection = _gateway.connection.model_copy(
        update={"catalogs": {"restricted": _restricted}})
