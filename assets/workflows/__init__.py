"""Business workflows fed by inbox files: early termination and orderly power use (curtailment).

- `foundation/workflow_schema.py`: the `workflow` schema (state that must survive master-data
  reloads)
- `inbox.py`: reading and validating inbox CSVs, file ledger, rejections
- `termination.py`: request -> fee -> payment instruction -> payment result -> notices;
  the fee itself in `termination_fee.py`
- `curtailment/`: plan -> affected customers -> notice / reminder / escalation / all-clear
  -> reduction vs baseline (`rules`, `plans`, `baseline`, `messages`, `evaluation`); lead times
  in `curtailment_rules.csv`
- `assets.py`: the Dagster assets; `tools/demo_inbox.py` writes demo inbox files

Their recipient rules (the customer's contacts, the retailer's account managers) are in
notifications/recipients.py, shared with the alerts, analytics and forecast notices.
"""
