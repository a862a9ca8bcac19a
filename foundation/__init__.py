"""The bottom layer: paths, warehouse connections, partitions and the Dagster resource.

Imports nothing of the platform; every stage (`assets/`, `quality/`, `notifications/`) and the
wiring (`orchestration/`) build on it.
"""
