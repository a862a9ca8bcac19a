"""Gridledger assets: sample data generation and (later) Dagster definitions."""
