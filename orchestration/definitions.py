"""Entry point for `dagster dev -w workspace.yaml`: `defs = build_defs()`."""

from orchestration.build import build_defs

defs = build_defs()
