"""Meters: master data, landing-folder ingestion (file ledger, readers, row rules, quarantine)
and the manual-edits input VEE applies. Assets: `assets.py`; the landing sensor is wiring
(`orchestration/sensors.py`); its gate is `quality/checks.py::landing_ledger_reconciles`."""
