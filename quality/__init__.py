"""Data-quality gates: Great Expectations suites and the Dagster checks that block each stage."""
