"""DDL of the `workflow` schema: early termination, curtailment and demand-response (DR) event
state, kept out of `master`.

`master.*` is replaced by every CRM export, so anything a workflow decides (requests, payment
instructions, terminations, curtailment plans and what was sent) lives here and survives reloads.
All workflow timestamps are naive China Standard Time (UTC+8), the clock of the plans and
requests they come from; the notification ledger (`notify.*`) keeps its own naive-UTC convention.
Money is DECIMAL(18, 2) yuan, energy DECIMAL(18, 3) kWh, power DECIMAL(18, 3) kW.

The full payee bank account is personal/banking data and goes to the restricted file only;
`workflow.payment_instructions` carries the masked account. Likewise free text from the inbox
(a request's reason and requester, a bank's failure reason, rejected rows, acknowledgement
replies) is stored in `workflow.*` masked (`notifications.masking.scrub_text`/`scrub_person`);
the unmasked request text is kept in `restricted.termination_request_texts` only. Those two
tables (`RESTRICTED_WORKFLOW_DDL`) live in the restricted catalog (foundation/warehouse.py); a
transaction writes either them or `workflow.*`, never both.
"""

from __future__ import annotations

import duckdb

WORKFLOW_DDL = """
create schema if not exists workflow;
create sequence if not exists workflow.termination_audit_seq;

-- every inbox file processed, once per content (name + SHA-256)
create table if not exists workflow.inbox_files (
    kind          varchar not null
                  check (kind in ('terminations', 'payments', 'curtailment', 'dr_events')),
    file_name     varchar not null,
    checksum      varchar not null,
    rows_read     integer not null,
    rows_accepted integer not null,
    rows_skipped  integer not null,   -- rows already applied from an earlier version of the file
    rows_rejected integer not null,
    processed_at  timestamp not null,
    primary key (kind, file_name, checksum)
);

-- rows (line >= 2) and files (line 0) that were not accepted, with the reason
create table if not exists workflow.rejections (
    kind        varchar not null,
    file_name   varchar not null,
    checksum    varchar not null,
    line        integer not null,
    record_id   varchar,            -- request_id / instruction_id / plan_id when readable
    reason      varchar not null,
    raw         varchar,            -- the row as read (JSON)
    rejected_at timestamp not null,
    primary key (kind, file_name, checksum, line)
);

-- early termination (CN118350811A): request -> fee -> payment instruction -> result
create table if not exists workflow.termination_requests (
    request_id        varchar primary key,
    contract_id       varchar not null,
    customer_id       varchar not null,
    retailer_id       varchar not null,
    requested_at      timestamp not null,
    reason            varchar,
    requested_by      varchar,
    effective_month   varchar not null,          -- 'YYYY-MM', first month after the request
    end_month         varchar not null,          -- contract end at request time
    rate_yuan_per_mwh decimal(18, 3) not null,
    cap_yuan          decimal(18, 2),            -- NULL: no cap
    estimated_kwh     decimal(18, 3) not null,   -- sum of the remaining months' volumes
    uncapped_fee_yuan decimal(18, 2) not null,
    fee_yuan          decimal(18, 2) not null,
    status            varchar not null
                      check (status in ('pending_payment', 'terminated', 'payment_failed')),
    source_file       varchar not null,
    received_at       timestamp not null,
    updated_at        timestamp not null,
    notified_at       timestamp                  -- outcome notice reached every recipient
);

create table if not exists workflow.termination_fee_lines (
    request_id      varchar not null,
    period          varchar not null,            -- 'YYYY-MM', effective month .. end month
    estimate_source varchar not null check (estimate_source in ('contract', 'last_year', 'none')),
    estimated_kwh   decimal(18, 3) not null,
    primary key (request_id, period)
);

create table if not exists workflow.payment_instructions (
    instruction_id       varchar primary key,
    request_id           varchar not null unique,
    amount_yuan          decimal(18, 2) not null,
    payee_retailer_id    varchar not null,
    payee_bank_name      varchar not null,
    payee_account_holder varchar not null,
    payee_account_masked varchar not null,  -- full: restricted.payment_instruction_accounts
    status               varchar not null check (status in ('pending', 'paid', 'failed')),
    created_at           timestamp not null,
    settled_at           timestamp,
    paid_at              timestamp,
    failure_reason       varchar,
    result_file          varchar
);

create table if not exists workflow.contract_terminations (
    contract_id     varchar primary key,
    request_id      varchar not null unique,
    effective_month varchar not null,            -- 'YYYY-MM'; the contract ends the month before
    fee_yuan        decimal(18, 2) not null,
    terminated_at   timestamp not null
);

create table if not exists workflow.termination_audit (
    audit_id   bigint primary key default nextval('workflow.termination_audit_seq'),
    request_id varchar,                          -- NULL when the row named no known request
    step       varchar not null,
    status     varchar not null,
    detail     varchar,
    "at"       timestamp not null
);

-- orderly power use (CN102999814A): plan -> customers -> notices -> results
create table if not exists workflow.curtailment_plans (
    plan_id          varchar primary key,
    plan_type        varchar not null check (plan_type in ('planned', 'emergency')),
    warning_level    varchar not null check (warning_level in ('I', 'II', 'III', 'IV')),
    plan_name        varchar not null,
    measure          varchar not null,
    window_start     timestamp not null,
    window_end       timestamp not null,
    published_at     timestamp not null,
    notice_deadline  timestamp,                  -- planned: D-1 17:00 by default; NULL: at once
    reminder_at      timestamp,                  -- planned: T-2 h by default; NULL: none
    ack_timeout_minutes integer,                 -- emergency: 30 by default; NULL: no escalation
    all_clear_at     timestamp not null,
    baseline_days    integer not null,
    results_until    timestamp not null,         -- stop waiting for window data after this
    rules_valid_from date not null,              -- the curtailment_rules.csv row applied
    source_file      varchar not null,
    received_at      timestamp not null
);

create table if not exists workflow.curtailment_targets (
    plan_id     varchar not null,
    line        integer not null,
    region      varchar,
    industry    varchar,
    customer_id varchar,
    target_kw   decimal(18, 3) not null,
    primary key (plan_id, line)
);

-- affected customers, frozen when the plan is accepted (master data may change later)
create table if not exists workflow.curtailment_customers (
    plan_id       varchar not null,
    customer_id   varchar not null,
    customer_name varchar not null,
    retailer_id   varchar,
    region        varchar,
    industry      varchar,
    target_kw     decimal(18, 3) not null,       -- required reduction
    matched_by    varchar not null,              -- target line(s) that selected the customer
    load_summary  varchar,                       -- yesterday / last month / last year curves
    primary key (plan_id, customer_id)
);

create table if not exists workflow.curtailment_load_curves (
    plan_id     varchar not null,
    customer_id varchar not null,
    curve       varchar not null check (curve in ('yesterday', 'last_month', 'last_year')),
    curve_date  date not null,
    hour        integer not null,
    avg_kw      decimal(18, 3) not null,
    primary key (plan_id, customer_id, curve, hour)
);

-- one row per plan x stage x customer ('ALL' = contacts of the plan not tied to a customer)
create table if not exists workflow.curtailment_stages (
    plan_id      varchar not null,
    stage        varchar not null
                 check (stage in ('notice', 'reminder', 'escalation', 'all_clear')),
    customer_id  varchar not null,
    notice_key   varchar not null,
    due_at       timestamp not null,
    status       varchar not null
                 check (status in ('partial', 'done', 'skipped', 'not_needed')),
    first_sent_at timestamp,                     -- first evaluation that delivered it
    completed_at timestamp,
    recipients   integer not null default 0,
    reached      integer not null default 0,
    late         boolean not null default false, -- sent after the plan's notice deadline
    detail       varchar,
    primary key (plan_id, stage, customer_id)
);

create table if not exists workflow.curtailment_results (
    plan_id        varchar not null,
    customer_id    varchar not null,
    baseline_kw    decimal(18, 3),               -- NULL: no like day with complete data
    actual_kw      decimal(18, 3),               -- NULL: window data incomplete
    reduction_kw   decimal(18, 3),
    target_kw      decimal(18, 3) not null,
    met            boolean,
    baseline_dates varchar,                      -- the like days used, ';'-separated
    detail         varchar,
    computed_at    timestamp not null,
    primary key (plan_id, customer_id)
);

-- demand-response events of their own file (inbox/dr_events; docs/domain.md §5): a grid or
-- aggregator dispatch (需求响应邀约) that is not a curtailment order
create table if not exists workflow.dr_events (
    event_id       varchar primary key,
    window_start   timestamp not null,
    window_end     timestamp not null,           -- after window_start, in the same month
    issued_by      varchar not null,             -- masked free text
    notified_at    timestamp not null,
    baseline_days  integer not null,             -- curtailment_rules.csv row dr_event
    results_until  timestamp not null,           -- stop waiting for window data after this
    content_sha256 varchar not null,             -- the event's rows as accepted (re-delivery check)
    source_file    varchar not null,
    received_at    timestamp not null
);

-- the customers of an event, frozen when it is accepted (a blank customer_id: every customer
-- enrolled in a DR package on the first day of the window's month)
create table if not exists workflow.dr_event_customers (
    event_id      varchar not null,
    customer_id   varchar not null,
    requested_kw  decimal(18, 3),                -- NULL: not given in the file
    target_kw     decimal(18, 3) not null,       -- requested_kw, else the committed kW
    dr_package_id varchar not null,              -- the enrollment in force at acceptance
    committed_kw  decimal(18, 3) not null,
    line          integer not null,              -- the file line that named or selected it
    primary key (event_id, customer_id)
);

-- one row per event and customer once the window's data are in: the curtailment evaluation's
-- baseline (assets/workflows/curtailment/baseline.py), same shape as curtailment_results
create table if not exists workflow.dr_event_results (
    event_id       varchar not null,
    customer_id    varchar not null,
    baseline_kw    decimal(18, 3),               -- NULL: no like day with complete data
    actual_kw      decimal(18, 3),               -- NULL: window data incomplete
    reduction_kw   decimal(18, 3),
    target_kw      decimal(18, 3) not null,
    met            boolean,
    baseline_dates varchar,                      -- the like days used, ';'-separated
    detail         varchar,
    computed_at    timestamp not null,
    primary key (event_id, customer_id)
);
"""

INBOX_KINDS = ("terminations", "payments", "curtailment", "dr_events")


RESTRICTED_WORKFLOW_DDL = """
create table if not exists restricted.payment_instruction_accounts (
    instruction_id varchar primary key,
    bank_account   varchar not null
);

-- the request's free text as received (personal data); workflow tables keep it masked
create table if not exists restricted.termination_request_texts (
    request_id   varchar primary key,
    reason       varchar,
    requested_by varchar
);
"""


def ensure_workflow_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the `workflow` tables and their restricted companions if missing (idempotent,
    cheap; one statement per file, so never inside a transaction that wrote the other)."""
    con.execute(WORKFLOW_DDL)
    _migrate_inbox_kinds(con)
    con.execute(RESTRICTED_WORKFLOW_DDL)


def _migrate_inbox_kinds(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse made before the DR event inbox has `workflow.inbox_files` with a check that
    refuses the kind `dr_events`: rebuild the table with the current check, rows kept (DuckDB
    cannot alter a check constraint). Idempotent: nothing to do once the check names every kind."""
    (check,) = con.execute(
        "select coalesce(string_agg(constraint_text, ' '), '') from duckdb_constraints()"
        " where database_name = current_database() and schema_name = 'workflow'"
        " and table_name = 'inbox_files' and constraint_type = 'CHECK'").fetchone()
    if all(f"'{kind}'" in check for kind in INBOX_KINDS):
        return
    ddl = WORKFLOW_DDL.split("create table if not exists workflow.inbox_files", 1)[1]
    ddl = ddl.split(";", 1)[0]
    con.execute("begin")
    try:
        con.execute(f"create table workflow.inbox_files__migrated {ddl}")
        con.execute("insert into workflow.inbox_files__migrated select * from workflow.inbox_files")
        con.execute("drop table workflow.inbox_files")
        con.execute("alter table workflow.inbox_files__migrated rename to inbox_files")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


__all__ = ["INBOX_KINDS", "RESTRICTED_WORKFLOW_DDL", "WORKFLOW_DDL", "ensure_workflow_schema"]
