"""Early termination of a retail contract (提前解约), after CN118350811A.

    request (inbox/terminations) -> contract lookup -> fee -> payment instruction (pending)
    payment result (inbox/payments) -> success: contract_terminations + `termination_completed`
                                    -> failure: contract stays active + `termination_failed`

The fee is computed in `termination_fee.py` (domain.md §6, made precise).

Rejected (into `workflow.rejections`, and the audit when a request id is known): a request_id
seen before (or twice in a file), an unknown contract, a contract that is not active, already
terminated or has a request awaiting payment, a contract that ends before the effective month,
a retailer without a bank account, a contract whose months are not valid `YYYY-MM` or end more
than the configured number of months ahead; a fee that is negative, above the contract's cap or
above the configured maximum (checked right before the payment instruction is issued, so no
such instruction ever exists); a payment result for an unknown instruction, for an
instruction already settled, or whose amount differs from the instruction.

Re-running over the same files does nothing (file ledger); an edited file is read again and its
rows already applied are skipped, not rejected. Outcome notices go to the customer's contacts
(subscribed to `termination`, else all of them) and the retailer side (see `assets.workflows`);
a request is marked notified once every recipient is reached, so a later run retries the rest.

Personal data: `reason` and `requested_by` are stored masked in `workflow.termination_requests`
(`requested_by` word by word as a person, `reason` as free text with every contact's and
resident's name on file and the requester's name masked); the unmasked text goes to
`restricted.termination_request_texts` only. A bank's failure reason and every audit detail are
scrubbed as free text too. The restricted rows (request text, full payee account) are staged in
temp tables inside a file's transaction and moved to the restricted file right after it commits
(DuckDB writes one file per transaction): a rolled-back file leaves nothing in either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.workflows.inbox import (
    InboxFile,
    InboxRow,
    china_now,
    choice,
    decimal,
    optional,
    optional_text,
    optional_timestamp,
    pending_files,
    read_inbox_file,
    record_file,
    reject_symlinks,
    text,
    timestamp,
)
from assets.workflows.limits import WorkflowLimits, workflow_limits
from assets.workflows.termination_fee import (
    Contract,
    FeeLine,
    FeeQuote,
    effective_month,
    last_year_kwh,
    load_contract,
    quote_fee,
)
from foundation.months import add_months, month_range, parse_month
from foundation.restricted import customer_name_sql, personal_names
from foundation.warehouse import connect, table_exists, transaction
from foundation.workflow_schema import ensure_workflow_schema
from notifications.masking import mask_account, scrub_person, scrub_text
from notifications.recipients import customer_recipients, manager_recipients
from notifications.resource import default_service
from notifications.service import DeliveryService, DeliveryTally, Notice
from notifications.templates import render_text

log = logging.getLogger(__name__)

REQUEST_COLUMNS = {
    "request_id": text, "contract_id": text, "requested_at": timestamp,
    "reason": optional_text, "requested_by": optional_text,
}
PAYMENT_COLUMNS = {
    "instruction_id": text, "result": choice("success", "failure"),
    "amount_yuan": optional(decimal(2, lambda limits: limits.max_payment_yuan)),
    "paid_at": optional_timestamp,
    "failure_reason": optional_text,
}


# -- the workflow -----------------------------------------------------------------------------


@dataclass
class TerminationReport:
    """What one run of the workflow did."""

    files: int = 0
    requests_accepted: int = 0
    payments_applied: int = 0
    rows_skipped: int = 0
    rejected: int = 0
    terminated: list[str] = field(default_factory=list)  # request ids
    payment_failed: list[str] = field(default_factory=list)
    notices_sent: int = 0
    unreached: dict[str, list[str]] = field(default_factory=dict)  # request id -> contacts
    tally: DeliveryTally = field(default_factory=DeliveryTally)  # per notice type, for metadata


def instruction_id_for(request_id: str) -> str:
    """Payment instruction ids are derived from the request: one instruction per request."""
    return f"PI-{request_id}"


def _audit(
    con: duckdb.DuckDBPyConnection, request_id: str | None, step: str, status: str,
    detail: str | None, now: datetime,
) -> None:
    con.execute(
        'insert into workflow.termination_audit (request_id, step, status, detail, "at")'
        " values (?, ?, ?, ?, ?)",
        [request_id, step, status, scrub_text(detail), now],
    )


def _payee(con: duckdb.DuckDBPyConnection, retailer_id: str, day: date) -> tuple | None:
    """(bank_name, bank_account, account_holder) of the retailer's account valid on `day`."""
    return con.execute(
        """select bank_name, bank_account, account_holder from restricted.retailers
           where retailer_id = ? and valid_from <= ? and (valid_to is null or valid_to >= ?)
             and bank_account is not null
           order by valid_from desc limit 1""",
        [retailer_id, day, day],
    ).fetchone()


def _month_index(month: str, what: str) -> int:
    """A `YYYY-MM` month as a number (months are compared as dates, never as strings)."""
    year, number = parse_month(month, what)
    return year * 12 + number - 1


def _months_problem(contract: Contract, effective: str, limits: WorkflowLimits) -> str | None:
    """Contract months that are not valid months, or that end beyond the horizon."""
    try:
        _month_index(contract.start_month, "start_month")
        end = _month_index(contract.end_month, "end_month")
    except ValueError as exc:
        return f"contract {contract.contract_id}: {exc}"
    if end < _month_index(effective, "effective month"):
        return (f"contract {contract.contract_id} ends {contract.end_month};"
                f" nothing left to terminate from {effective}")
    if end - _month_index(effective, "effective month") >= limits.max_contract_months:
        return (f"contract {contract.contract_id} ends {contract.end_month}, more than"
                f" {limits.max_contract_months} months after {effective}")
    return None


def instruction_problem(contract: Contract, quote: FeeQuote, limits: WorkflowLimits) -> str | None:
    """Why a payment instruction for this fee must not be issued, or None (checked just before)."""
    fee = quote.fee_yuan
    what = f"fee {fee} yuan of contract {contract.contract_id}"
    if not fee.is_finite() or fee < 0:
        return f"{what} is negative: no payment instruction issued"
    if fee != fee.quantize(Decimal("0.01")):
        return f"{what} has more than 2 decimals: no payment instruction issued"
    if contract.cap_yuan is not None and fee > contract.cap_yuan:
        return (f"{what} is above the contract cap {contract.cap_yuan} yuan:"
                " no payment instruction issued")
    if fee > limits.max_fee_yuan:
        return (f"{what} is above the maximum {limits.max_fee_yuan} yuan:"
                " no payment instruction issued")
    return None


def _request_problem(
    con: duckdb.DuckDBPyConnection, row: InboxRow, contract: Contract | None,
    limits: WorkflowLimits,
) -> str | None:
    """Why a (new, well-formed) request cannot go ahead, or None."""
    v = row.values
    if contract is None:
        return f"unknown contract {v['contract_id']}"
    if contract.status != "active":
        return f"contract {contract.contract_id} is not active (status {contract.status})"
    done = con.execute(
        "select request_id from workflow.contract_terminations where contract_id = ?",
        [contract.contract_id],
    ).fetchone()
    if done:
        return f"contract {contract.contract_id} is already terminated (request {done[0]})"
    open_request = con.execute(
        "select request_id from workflow.termination_requests"
        " where contract_id = ? and status = 'pending_payment' order by received_at limit 1",
        [contract.contract_id],
    ).fetchone()
    if open_request:
        return (f"contract {contract.contract_id} already has request {open_request[0]}"
                " awaiting payment")
    return _months_problem(contract, effective_month(v["requested_at"]), limits)


def _person_names(con: duckdb.DuckDBPyConnection, requested_by: str | None) -> list[str]:
    """Names a request's free text may mention: every contact's and resident's name on file,
    and the requester's."""
    names = personal_names(con)
    words = (requested_by or "").split()
    return names + [w for w in words if "@" not in w and not any(c.isdigit() for c in w)]


def _accept_request(
    con: duckdb.DuckDBPyConnection, inbox: InboxFile, row: InboxRow, contract: Contract,
    now: datetime, limits: WorkflowLimits,
) -> str | None:
    """Price the request and issue the payment instruction; a reason if it cannot be paid."""
    v = row.values
    rid = v["request_id"]
    payee = _payee(con, contract.retailer_id, now.date())
    if payee is None:
        return f"retailer {contract.retailer_id} has no bank account on file"
    bank_name, account, holder = payee
    quote = quote_fee(con, contract, v["requested_at"])
    problem = instruction_problem(contract, quote, limits)
    if problem is not None:
        return problem
    names = _person_names(con, v["requested_by"])
    con.execute(
        "insert into workflow.termination_requests values"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending_payment', ?, ?, ?, null)",
        [rid, contract.contract_id, contract.customer_id, contract.retailer_id,
         v["requested_at"], scrub_text(v["reason"], names), scrub_person(v["requested_by"]),
         quote.effective_month,
         contract.end_month, contract.rate_yuan_per_mwh, contract.cap_yuan, quote.estimated_kwh,
         quote.uncapped_yuan, quote.fee_yuan, inbox.name, now, now],
    )
    if v["reason"] is not None or v["requested_by"] is not None:
        con.execute("insert into temp.termination_request_texts values (?, ?, ?)",
                    [rid, v["reason"], v["requested_by"]])
    con.executemany(
        "insert into workflow.termination_fee_lines values (?, ?, ?, ?)",
        [[rid, line.period, line.source, line.kwh] for line in quote.lines],
    )
    iid = instruction_id_for(rid)
    con.execute(
        "insert into workflow.payment_instructions values"
        " (?, ?, ?, ?, ?, ?, ?, 'pending', ?, null, null, null, null)",
        [iid, rid, quote.fee_yuan, contract.retailer_id, bank_name, holder,
         mask_account(account), now],
    )
    con.execute("insert into temp.payment_instruction_accounts values (?, ?)", [iid, account])
    sources = {s: sum(1 for line in quote.lines if line.source == s)
               for s in ("contract", "last_year", "none")}
    _audit(con, rid, "received", "accepted",
           f"{inbox.name} line {row.line}: contract {contract.contract_id}", now)
    _audit(con, rid, "fee_computed", "ok",
           f"{len(quote.lines)} months {quote.effective_month}..{contract.end_month}"
           f" (contract {sources['contract']}, last year {sources['last_year']},"
           f" none {sources['none']}), {quote.estimated_kwh} kWh x"
           f" {contract.rate_yuan_per_mwh} yuan/MWh = {quote.uncapped_yuan},"
           f" cap {contract.cap_yuan}, fee {quote.fee_yuan}", now)
    _audit(con, rid, "payment_instruction", "pending",
           f"{iid}: {quote.fee_yuan} yuan to {bank_name} {mask_account(account)} ({holder})", now)
    return None


def _process_requests(
    con: duckdb.DuckDBPyConnection, inbox: InboxFile, now: datetime, report: TerminationReport
) -> tuple[int, int]:
    accepted = skipped = 0
    seen: set[str] = set()
    limits = workflow_limits()
    for row in inbox.rows:
        rid = row.values["request_id"]
        existing = con.execute(
            "select source_file, status from workflow.termination_requests where request_id = ?",
            [rid],
        ).fetchone()
        if rid in seen or existing:
            if existing and rid not in seen and existing[0] == inbox.name:
                skipped += 1  # applied from an earlier version of this file
                continue
            where = "earlier in this file" if rid in seen else f"in {existing[0]}"
            reason = f"duplicate request_id {rid}: already received {where}"
        else:
            contract = load_contract(con, row.values["contract_id"])
            reason = _request_problem(con, row, contract, limits)
            if reason is None:
                reason = _accept_request(con, inbox, row, contract, now, limits)
        seen.add(rid)
        if reason is None:
            accepted += 1
            continue
        inbox.reject(row, reason, rid)
        _audit(con, rid, "received", "rejected", f"{inbox.name} line {row.line}: {reason}", now)
    report.requests_accepted += accepted
    return accepted, skipped


def _payment_problem(row: InboxRow, instruction: tuple) -> str | None:
    v = row.values
    iid, amount = v["instruction_id"], v["amount_yuan"]
    _, instructed, status, result_file = instruction
    if status != "pending":
        return f"instruction {iid} is already settled ({status}, {result_file})"
    if v["result"] == "success" and amount is None:
        return "amount_yuan is required for a successful payment"
    if v["result"] == "success" and v["paid_at"] is None:
        return "paid_at is required for a successful payment"
    if amount is not None and amount != instructed:
        return (f"amount {amount:.2f} yuan does not match the instructed amount"
                f" {instructed:.2f} yuan of {iid}")
    return None


def _apply_payment(
    con: duckdb.DuckDBPyConnection, inbox: InboxFile, row: InboxRow, request_id: str,
    now: datetime, report: TerminationReport,
) -> None:
    v = row.values
    iid = v["instruction_id"]
    _audit(con, request_id, "payment_result", v["result"],
           f"{inbox.name} line {row.line}: {iid} {v['amount_yuan']} yuan"
           + (f" paid at {v['paid_at']}" if v["result"] == "success" else
              f", bank reason: {v['failure_reason'] or '-'}"), now)
    if v["result"] == "success":
        con.execute(
            "update workflow.payment_instructions set status = 'paid', settled_at = ?,"
            " paid_at = ?, result_file = ? where instruction_id = ?",
            [now, v["paid_at"], inbox.name, iid],
        )
        con.execute(
            "update workflow.termination_requests set status = 'terminated', updated_at = ?"
            " where request_id = ?", [now, request_id],
        )
        contract_id, effective, fee = con.execute(
            "select contract_id, effective_month, fee_yuan from workflow.termination_requests"
            " where request_id = ?", [request_id],
        ).fetchone()
        con.execute(
            "insert into workflow.contract_terminations values (?, ?, ?, ?, ?)",
            [contract_id, request_id, effective, fee, now],
        )
        _audit(con, request_id, "terminated", "ok",
               f"contract {contract_id} ends before {effective}", now)
        report.terminated.append(request_id)
        return
    reason = scrub_text(v["failure_reason"]) or render_text("bank_gave_no_reason")
    con.execute(
        "update workflow.payment_instructions set status = 'failed', settled_at = ?,"
        " failure_reason = ?, result_file = ? where instruction_id = ?",
        [now, reason, inbox.name, iid],
    )
    con.execute(
        "update workflow.termination_requests set status = 'payment_failed', updated_at = ?"
        " where request_id = ?", [now, request_id],
    )
    _audit(con, request_id, "terminated", "failed", f"payment failed: {reason}; contract stays"
           " active", now)
    report.payment_failed.append(request_id)


def _process_payments(
    con: duckdb.DuckDBPyConnection, inbox: InboxFile, now: datetime, report: TerminationReport
) -> tuple[int, int]:
    applied = skipped = 0
    seen: set[str] = set()
    for row in inbox.rows:
        iid = row.values["instruction_id"]
        instruction = con.execute(
            "select request_id, amount_yuan, status, result_file"
            " from workflow.payment_instructions where instruction_id = ?", [iid],
        ).fetchone()
        request_id = instruction[0] if instruction else None
        if instruction is None:
            reason = f"unknown instruction {iid}"
        elif iid in seen:
            reason = f"duplicate result for instruction {iid} earlier in this file"
        elif instruction[2] != "pending" and instruction[3] == inbox.name:
            skipped += 1  # applied from an earlier version of this file
            seen.add(iid)
            continue
        else:
            reason = _payment_problem(row, instruction)
        seen.add(iid)
        if reason is None:
            _apply_payment(con, inbox, row, request_id, now, report)
            applied += 1
            continue
        inbox.reject(row, reason, iid)
        _audit(con, request_id, "payment_result", "rejected",
               f"{inbox.name} line {row.line}: {reason}", now)
    report.payments_applied += applied
    return applied, skipped


def _process_folder(
    con: duckdb.DuckDBPyConnection, kind: str, folder: Path, now: datetime,
    report: TerminationReport,
) -> None:
    columns, process, key = {
        "terminations": (REQUEST_COLUMNS, _process_requests, "request_id"),
        "payments": (PAYMENT_COLUMNS, _process_payments, "instruction_id"),
    }[kind]
    with transaction(con):
        report.rejected += reject_symlinks(con, kind, folder, now)
    for table in RESTRICTED_STAGED:
        con.execute(f"create temp table if not exists {table} as from restricted.{table} limit 0")
    for path, _ in pending_files(con, kind, folder):
        inbox = read_inbox_file(kind, path, columns, key, now=now)
        with transaction(con):
            for rejection in inbox.rejections:  # parse errors: audit those naming a request
                if kind == "terminations" and rejection.record_id:
                    _audit(con, rejection.record_id, "received", "rejected",
                           f"{inbox.name} line {rejection.line}: {rejection.reason}", now)
            accepted, skipped = process(con, inbox, now, report)
            record_file(con, inbox, accepted, skipped, now)
        _move_staged_restricted(con)
        report.files += 1
        report.rows_skipped += skipped
        report.rejected += len(inbox.rejections)
        for rejection in inbox.rejections:
            log.warning("%s line %d rejected: %s", inbox.name, rejection.line, rejection.reason)


RESTRICTED_STAGED = ("termination_request_texts", "payment_instruction_accounts")


def _move_staged_restricted(con: duckdb.DuckDBPyConnection) -> None:
    """Move the rows a committed file staged in temp tables to the restricted file."""
    with transaction(con):
        for table in RESTRICTED_STAGED:
            con.execute(f"insert or replace into restricted.{table} from temp.{table}")
            con.execute(f"delete from temp.{table}")


OUTCOMES_SQL = f"""
select r.request_id, r.contract_id, r.customer_id, r.retailer_id, r.status, r.fee_yuan,
       r.effective_month, i.failure_reason, coalesce({customer_name_sql('c')}, r.customer_id)
from workflow.termination_requests r
join workflow.payment_instructions i using (request_id)
left join master.customers c on c.customer_id = r.customer_id and c.valid_to is null
where r.status in ('terminated', 'payment_failed') and r.notified_at is null
order by r.request_id
"""


@dataclass(frozen=True)
class _Outcome:
    request_id: str
    notice_key: str
    notice_type: str
    context: dict
    recipients: list


def _pending_outcomes(con: duckdb.DuckDBPyConnection) -> list[_Outcome]:
    """Settled requests whose notice has not reached everyone yet, with their recipients."""
    outcomes = []
    for rid, contract_id, customer_id, retailer_id, status, fee, effective, failure, name in (
        con.execute(OUTCOMES_SQL).fetchall()
    ):
        if status == "terminated":
            notice_type = "termination_completed"
            context = {"customer_name": name, "contract_id": contract_id, "fee_yuan": fee,
                       "effective_month": effective}
        else:
            notice_type = "termination_failed"
            context = {"customer_name": name, "contract_id": contract_id,
                       "reason": render_text("payment_failed", failure=failure)}
        recipients = [
            *customer_recipients(con, notice_type, customer_id, fallback_to_all=True),
            *manager_recipients(con, notice_type, retailer_id, customer_id),
        ]
        key = f"termination:{rid}:{'completed' if status == 'terminated' else 'failed'}"
        outcomes.append(_Outcome(rid, key, notice_type, context, recipients))
    return outcomes


def run_termination_workflow(
    warehouse: Path | str, inbox_dir: Path | str, service: DeliveryService | None = None,
    clock: Callable[[], datetime] = china_now,
) -> TerminationReport:
    """Process new request and payment files, then send the outcome notices still owed."""
    warehouse, inbox_dir = Path(warehouse), Path(inbox_dir)
    now = clock()
    report = TerminationReport()
    with connect(warehouse) as con:
        if not table_exists(con, "master", "contracts"):
            raise RuntimeError("master data is not loaded (master.contracts is missing)")
        ensure_workflow_schema(con)
        _process_folder(con, "terminations", inbox_dir / "terminations", now, report)
        _process_folder(con, "payments", inbox_dir / "payments", now, report)
        outcomes = _pending_outcomes(con)
    if not outcomes:
        return report
    # the delivery service opens the warehouse itself: no connection is held from here on
    service = service or default_service(warehouse)
    finished = []
    deliveries = service.deliver_many(
        Notice(o.notice_key, o.notice_type, o.context, o.recipients) for o in outcomes)
    for outcome, delivery in zip(outcomes, deliveries, strict=True):
        report.tally.add(delivery)
        report.notices_sent += len(delivery.sent)
        if delivery.unreached:
            report.unreached[outcome.request_id] = delivery.unreached
        finished.append((outcome, delivery))
    with connect(warehouse) as con:
        for outcome, delivery in finished:
            detail = (f"{outcome.notice_key}: {len(outcome.recipients)} recipients, reached"
                      f" {len(delivery.reached)}, unreached {delivery.unreached}")
            if not delivery.unreached:
                con.execute(
                    "update workflow.termination_requests set notified_at = ?"
                    " where request_id = ?", [now, outcome.request_id],
                )
            _audit(con, outcome.request_id, "notified",
                   "partial" if delivery.unreached else "ok", detail, now)
    return report


__all__ = [
    "Contract", "FeeLine", "FeeQuote", "TerminationReport", "add_months", "effective_month",
    "instruction_id_for", "instruction_problem", "last_year_kwh", "load_contract", "month_range",
    "quote_fee", "run_termination_workflow",
]
