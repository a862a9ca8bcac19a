"""Alerts: `marts.alerts` is built by dbt (`transforms/models/marts/alerts.sql`); this stage
sends bill-ready and alert notices to their subscribers (`notices.py`)."""
