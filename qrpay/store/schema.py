"""The database schema, SQLAlchemy Core.  Money columns are integer minor units.

Tables, grouped by who writes them:

* bills, imports: the bill import (``qrpay bills import``);
* callbacks (every inbound callback as received), payments (one row per
  ``(channel, txn_id)``), ledger (append-only, signed amounts per account),
  receipt_counters (gap-free receipt numbers per biller), outbox (SMS notices,
  written in the posting's transaction): the payment service;
* api_keys, staff, shifts, audit: the scan resolver and the counter desk;
* render_jobs: the e-bill batch's progress, for ``--resume``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from qrpay.store.types import UtcDateTime

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", UtcDateTime(), nullable=False),
)

imports = Table(
    "imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("replaced", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
)

bills = Table(
    "bills", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bill_no", String(40), nullable=False, unique=True),
    Column("biller", String(64), nullable=False),
    Column("account_no", String(40), nullable=False),
    Column("name", Text, nullable=False),
    Column("period", String(7), nullable=False),  # YYYY-MM
    Column("amount", BigInteger, nullable=False),  # minor units; may be <= 0
    Column("due_date", Date, nullable=False),
    Column("late_amount", BigInteger, nullable=True),
    Column("arrears", BigInteger, nullable=False, default=0),
    Column("mobile", String(20), nullable=True),
    Column("category", String(40), nullable=True),
    Column("area", String(20), nullable=True),
    Column("units", Integer, nullable=True),
    Column("address", Text, nullable=True),
    Column("language", String(8), nullable=True),
    Column("meter_no", String(40), nullable=True),
    Column("history", Text, nullable=True),  # JSON list of ints, oldest first
    Column("charges", Text, nullable=True),  # JSON list of [head, minor units]
    # JSON object of the optional print fields (readings, tariff, load, last payment)
    Column("details", Text, nullable=True),
    Column("content_hash", String(64), nullable=False),
    # imports.id of the import that wrote the row.  No foreign key (migration 11 drops
    # it on PostgreSQL; an older SQLite database keeps its own): the importer sets it
    # itself, to the imports row it inserted in the same transaction, and imports rows
    # are never deleted, so it always refers to one; the key's check, one query per row
    # on PostgreSQL, was a fifth of the server's work in a bill import
    # (tests/test_importer.py checks that every import_id names an import).
    Column("import_id", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
Index("ix_bills_biller_period", bills.c.biller, bills.c.period)
Index("ix_bills_account", bills.c.biller, bills.c.account_no)

callbacks = Table(
    "callbacks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(40), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("headers", Text, nullable=False),  # JSON
    Column("body", LargeBinary, nullable=False),  # raw bytes as received
    Column("remote", String(64), nullable=True),
    Column("signature_ok", Boolean, nullable=True),
    Column("event_id", String(100), nullable=True),
    Column("txn_id", String(100), nullable=True),
    Column("result", String(40), nullable=True),  # posted, duplicate, or an error code
    Column("payment_id", Integer, nullable=True),
)
Index("ix_callbacks_txn", callbacks.c.channel, callbacks.c.txn_id)

payments = Table(
    "payments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(40), nullable=False),
    Column("txn_id", String(100), nullable=False),
    Column("biller", String(64), nullable=False),
    Column("bill_no", String(40), nullable=False),
    Column("account_no", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),  # success, failed, pending, reversed
    Column("mode", String(20), nullable=True),  # upi, cash, card, cheque...
    Column("reference", String(100), nullable=True),
    Column("paid_at", UtcDateTime(), nullable=True),
    Column("payer", String(200), nullable=True),
    Column("utr", String(64), nullable=True),
    Column("receipt_no", String(40), nullable=True),
    Column("posted_at", UtcDateTime(), nullable=True),
    Column("reversed_at", UtcDateTime(), nullable=True),
    Column("staff_id", Integer, nullable=True),
    Column("shift_id", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("channel", "txn_id", name="uq_payments_channel_txn"),
)
Index("ix_payments_bill", payments.c.bill_no)

ledger = Table(
    "ledger", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("biller", String(64), nullable=False),
    Column("account_no", String(40), nullable=False),
    Column("bill_no", String(40), nullable=True),
    # charge, late_fee (positive: owed); payment (negative); reversal, cancel (positive)
    Column("kind", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),  # signed minor units
    Column("payment_id", Integer, ForeignKey("payments.id"), nullable=True),
    Column("receipt_no", String(40), nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_ledger_account", ledger.c.biller, ledger.c.account_no)
Index("ix_ledger_bill", ledger.c.bill_no)

receipt_counters = Table(
    "receipt_counters", metadata,
    Column("biller", String(64), primary_key=True),
    Column("last_no", BigInteger, nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # sms, whatsapp
    Column("dedupe_key", String(120), nullable=False, unique=True),  # one per posting
    Column("biller", String(64), nullable=False),
    Column("recipient", String(40), nullable=False),
    Column("language", String(8), nullable=False),
    Column("template", String(60), nullable=False),
    Column("template_id", String(40), nullable=True),  # India DLT template id
    Column("body", Text, nullable=False),
    Column("encoding", String(8), nullable=False),  # GSM-7 or UCS-2
    Column("segments", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # pending, sending, sent, failed, unknown
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("provider_ref", String(100), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(128), nullable=False),  # sha256 of the key
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("scopes", Text, nullable=True),  # "scan,reports"; NULL: every scope (old keys)
)

staff = Table(
    "staff", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),  # cashier, supervisor, admin
    Column("biller", String(64), nullable=True),
    Column("counter", String(40), nullable=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime(), nullable=True),
    Column("last_failed_at", UtcDateTime(), nullable=True),  # lockout window
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Counter-desk sessions: the cookie carries a signed id; expiry and logout live here.
staff_sessions = Table(
    "staff_sessions", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie's session token
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("shift_id", Integer, nullable=True),
    Column("csrf", String(64), nullable=False),
    Column("remote", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
)

shifts = Table(
    "shifts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("biller", String(64), nullable=False),
    Column("counter", String(40), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("expected_cash", BigInteger, nullable=True),
    Column("declared_cash", BigInteger, nullable=True),
    Column("closed_by", Integer, nullable=True),  # staff id
    Column("close_note", Text, nullable=True),  # why the cash counted differs (v4)
)
Index("ix_shifts_counter", shifts.c.biller, shifts.c.counter, shifts.c.closed_at)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("biller", String(64), nullable=True),
    Column("counter", String(40), nullable=True),
    Column("remote", String(64), nullable=True),
    Column("detail", Text, nullable=True),  # JSON
)
Index("ix_audit_at", audit.c.at)

# Failed desk logins per client address (qrpay.desk.throttle): in the database, since
# several workers and nodes serve the desk.
login_throttle = Table(
    "login_throttle", metadata,
    Column("address", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("blocked_until", UtcDateTime(), nullable=True),
)

render_jobs = Table(
    "render_jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(7), nullable=False),
    Column("out_dir", Text, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, default=0),
)

# The biller API (qrpay.biller): every request a channel sends, as received, with the
# answer it got (disputes are settled from here); wrong-password counts per channel
# (the slow-down lives in the database, shared by every worker); payments accepted as a
# credit on an account because the bill was already paid (finance refunds or carries).
channel_requests = Table(
    "channel_requests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(40), nullable=False),
    Column("op", String(40), nullable=False),  # inquiry, payment, status, or the path
    Column("received_at", UtcDateTime(), nullable=False),
    Column("remote", String(64), nullable=True),
    Column("headers", Text, nullable=False),  # JSON
    Column("body", LargeBinary, nullable=False),  # raw bytes as received
    Column("status", Integer, nullable=False),  # HTTP status answered
    Column("answer", LargeBinary, nullable=False),  # the bytes answered
    Column("outcome", String(40), nullable=False),  # ok or the error code
    Column("txn_id", String(100), nullable=True),
    Column("payment_id", Integer, nullable=True),
)
Index("ix_channel_requests_txn", channel_requests.c.channel, channel_requests.c.txn_id)

channel_auth = Table(
    "channel_auth", metadata,
    Column("channel", String(40), primary_key=True),
    Column("window_start", UtcDateTime(), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("slowed_until", UtcDateTime(), nullable=True),
)

channel_credits = Table(
    "channel_credits", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payment_id", Integer, ForeignKey("payments.id"), nullable=False, unique=True),
    Column("channel", String(40), nullable=False),
    Column("txn_id", String(100), nullable=False),
    Column("biller", String(64), nullable=False),
    Column("bill_no", String(40), nullable=False),
    Column("account_no", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),  # minor units credited to the account
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_channel_credits_biller", channel_credits.c.biller, channel_credits.c.created_at)
# bills by mobile and by meter number (the biller API, the desk, the chat menu): partial
# since migration 11, as every query asks for a number (BEST's bills have no meter number,
# a bill file need not give mobiles): a null is never looked up, nor indexed.  On
# PostgreSQL the mobile index is a hash index: only ever asked for equality (one number, or
# its forms with IN), and a bill file's mobiles come in no order, which a B-tree pays for
# on every insert (a quarter of the server's work in a bill import; a hash index half that)
ix_bills_mobile = Index("ix_bills_mobile", bills.c.mobile,
                        sqlite_where=bills.c.mobile.isnot(None),
                        postgresql_where=bills.c.mobile.isnot(None), postgresql_using="hash")
ix_bills_meter = Index("ix_bills_meter", bills.c.meter_no,
                       sqlite_where=bills.c.meter_no.isnot(None),
                       postgresql_where=bills.c.meter_no.isnot(None))
# --- reconciliation and reports (qrpay.recon, qrpay.reports) ---------------------------
# Settlement files as imported (one row per channel and file content), their lines with
# the outcome each got, the exceptions the accounts team works through (never deleted:
# closed with a reason), the actions taken on them, money owed back to consumers, the
# per-settlement fee/tax check, and the daily collection totals the reports read.

recon_files = Table(
    "recon_files", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(40), nullable=False),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("format", String(20), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("summary", Text, nullable=True),  # JSON: outcome -> count
    Column("imported_at", UtcDateTime(), nullable=False),
    UniqueConstraint("channel", "sha256", name="uq_recon_files_channel_sha"),
)

recon_lines = Table(
    "recon_lines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_id", Integer, ForeignKey("recon_files.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("channel", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # payment, refund, other
    Column("txn_id", String(100), nullable=True),
    Column("bill_no", String(40), nullable=True),
    Column("utr", String(64), nullable=True),
    Column("amount", BigInteger, nullable=False),  # gross, minor units
    Column("fee", BigInteger, nullable=False, default=0),
    Column("tax", BigInteger, nullable=False, default=0),
    Column("net", BigInteger, nullable=True),  # settled to the biller, as the file says
    Column("settlement_id", String(100), nullable=True),
    Column("settled_on", Date, nullable=True),
    Column("outcome", String(30), nullable=False),
    Column("payment_id", Integer, nullable=True),
)
Index("ix_recon_lines_txn", recon_lines.c.channel, recon_lines.c.txn_id)
Index("ix_recon_lines_payment", recon_lines.c.payment_id)

recon_exceptions = Table(
    "recon_exceptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outcome", String(30), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("txn_id", String(100), nullable=True),
    Column("biller", String(64), nullable=True),
    Column("bill_no", String(40), nullable=True),
    Column("payment_id", Integer, nullable=True),
    Column("file_id", Integer, nullable=True),  # the settlement file line it came from
    Column("line_no", Integer, nullable=True),
    Column("amount", BigInteger, nullable=False, default=0),
    Column("detail", Text, nullable=True),
    Column("suggested", String(30), nullable=True),  # post, refund, write_off, link, review
    Column("state", String(10), nullable=False),  # open, closed
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("closed_by", String(64), nullable=True),
    Column("reason", Text, nullable=True),
)
Index("ix_recon_exceptions_state", recon_exceptions.c.state, recon_exceptions.c.id)
Index("ix_recon_exceptions_txn", recon_exceptions.c.channel, recon_exceptions.c.txn_id)

recon_actions = Table(
    "recon_actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exception_id", Integer, ForeignKey("recon_exceptions.id"), nullable=False),
    Column("action", String(20), nullable=False),  # post, refund, write_off, link, close
    Column("actor", String(64), nullable=False),
    Column("reason", Text, nullable=True),
    Column("detail", Text, nullable=True),  # JSON
    Column("at", UtcDateTime(), nullable=False),
)

refunds_due = Table(
    "refunds_due", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("biller", String(64), nullable=True),
    Column("account_no", String(40), nullable=True),
    Column("bill_no", String(40), nullable=True),
    Column("payment_id", Integer, nullable=True, unique=True),
    Column("amount", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("exception_id", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

recon_settlements = Table(
    "recon_settlements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_id", Integer, ForeignKey("recon_files.id"), nullable=False),
    Column("channel", String(40), nullable=False),
    Column("settlement_id", String(100), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("gross", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
)

# Collections per biller-local day, kept by qrpay.reports.rollup from the ledger (every
# entry with id <= rollup_state.last_id is counted here exactly once).  Text keys are ''
# and staff_id 0 when not known, so the primary key holds no NULL.
daily_totals = Table(
    "daily_totals", metadata,
    Column("biller", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("channel", String(40), primary_key=True),
    Column("mode", String(20), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("area", String(20), primary_key=True),
    Column("counter", String(40), primary_key=True),
    Column("staff_id", Integer, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
)

# Money the settlement files confirmed, by the biller-local day the payment was posted
# (kept by qrpay.recon when a line first settles a payment).
daily_settled = Table(
    "daily_settled", metadata,
    Column("biller", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("channel", String(40), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
)

rollup_state = Table(
    "rollup_state", metadata,
    Column("name", String(40), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# posted payments of a channel by posting time: the "callback but never settled" sweep
# (its range on posted_at implies the predicate).  Partial, so that it is never a
# candidate for a payment's look-up by (channel, txn_id): on a young table (no
# statistics, or statistics of an empty one) PostgreSQL's generic plan of that look-up
# took this index (channel only, txn_id as a filter, every row of the channel read) or a
# sequential scan instead of the unique index: 0.5 ms a payment, growing with the table.
ix_payments_channel_posted = Index("ix_payments_channel_posted", payments.c.channel,
                                   payments.c.posted_at,
                                   postgresql_where=payments.c.posted_at.isnot(None),
                                   sqlite_where=payments.c.posted_at.isnot(None))

# status polling (qrpay.recon.poll): one row per pending payment asked about, with its
# backoff (asks, next_at) and the lease of the node asking now (holder, lease_until): a
# node claims a batch (FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite),
# asks, and releases; a crashed node's lease expires and another takes the payment over.
recon_polls = Table(
    "recon_polls", metadata,
    Column("payment_id", Integer, primary_key=True),
    Column("channel", String(40), nullable=False),
    Column("asks", Integer, nullable=False, default=0),
    Column("next_at", UtcDateTime(), nullable=True),
    Column("holder", String(64), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("last_state", String(20), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

RECON_TABLES = (recon_files, recon_lines, recon_exceptions, recon_actions, refunds_due,
                recon_settlements, daily_totals, daily_settled, rollup_state)
# ---------------------------------------------------------------- chat (qrpay.chat)
# Conversations on WhatsApp and USSD: one row per (channel, biller, sender); what the
# engine needs to take the next message on any worker.
chat_sessions = Table(
    "chat_sessions", metadata,
    Column("id", String(200), primary_key=True),  # channel:biller:sender
    Column("channel", String(20), nullable=False),  # whatsapp, ussd
    Column("biller", String(64), nullable=False),
    Column("sender", String(100), nullable=False),  # msisdn, or a WhatsApp BSUID
    Column("has_phone", Boolean, nullable=False),
    Column("language", String(8), nullable=False),
    Column("node", String(60), nullable=False),
    Column("data", Text, nullable=False),  # JSON: stack, collected values
    Column("bad", Integer, nullable=False, default=0),  # bad inputs in a row
    Column("seq", Integer, nullable=False, default=0),  # number of the last menu sent
    Column("gateway_session", String(100), nullable=True),  # USSD sessionId
    Column("hops", Integer, nullable=False, default=0),  # USSD inputs consumed
    Column("state", String(20), nullable=False),  # active, ended
    Column("last_inbound_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

# Every inbound WhatsApp message id once: the unique key that answers a message once
# however many times (and to however many workers) Meta delivers it.
chat_inbound = Table(
    "chat_inbound", metadata,
    Column("message_id", String(200), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

# Delivery status of the messages we sent; ``rank`` only ever goes up.
chat_message_status = Table(
    "chat_message_status", metadata,
    Column("message_id", String(200), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# A bill a conversation showed: a payment posted for it afterwards is confirmed there.
chat_watches = Table(
    "chat_watches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(200), nullable=False),
    Column("bill_no", String(40), nullable=False),
    Column("shown_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("done_at", UtcDateTime(), nullable=True),
    UniqueConstraint("session_id", "bill_no", name="uq_chat_watches_session_bill"),
)
Index("ix_chat_watches_bill", chat_watches.c.bill_no)

# Complaints and callback requests; ticket numbers per biller from complaint_counters,
# never reused.
complaints = Table(
    "complaints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("biller", String(64), nullable=False),
    Column("ticket_no", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # complaint, callback
    Column("category", String(40), nullable=False),
    Column("text", Text, nullable=True),
    Column("account_no", String(40), nullable=True),
    Column("session_id", String(200), nullable=True),
    Column("channel", String(20), nullable=True),
    Column("contact", String(100), nullable=True),
    Column("language", String(8), nullable=False),
    Column("status", String(20), nullable=False),  # open, assigned, resolved
    Column("assignee", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    UniqueConstraint("biller", "ticket_no", name="uq_complaints_biller_ticket"),
)
Index("ix_complaints_status", complaints.c.biller, complaints.c.status)

complaint_counters = Table(
    "complaint_counters", metadata,
    Column("biller", String(64), primary_key=True),
    Column("last_no", BigInteger, nullable=False),
)

complaint_events = Table(
    "complaint_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", Integer, ForeignKey("complaints.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(20), nullable=False),  # open, assign, note, resolve
    Column("status", String(20), nullable=False),
    Column("note", Text, nullable=True),
)

CHAT_TABLES = (chat_sessions, chat_inbound, chat_message_status, chat_watches, complaints,
               complaint_counters, complaint_events)

# Request counts per client and minute (qrpay.web.ratelimit): in the database, so that
# every node and worker counts against the same limit.
rate_limits = Table(
    "rate_limits", metadata,
    Column("bucket", String(200), primary_key=True),  # "ip:<address>", "key:<prefix>"...
    Column("window", BigInteger, primary_key=True),  # the minute: epoch seconds // 60
    Column("hits", Integer, nullable=False),
)
