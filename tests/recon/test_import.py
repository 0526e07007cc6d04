"""Settlement import: every outcome in each built-in format, totals to the paisa, the same
file twice, a later file closing earlier exceptions, bad files writing nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qrpay.config import Config
from qrpay.errors import ConfigError
from qrpay.recon.importer import import_settlement
from qrpay.recon.queue import list_exceptions
from qrpay.store import Store
from qrpay.store.schema import (
    ledger,
    outbox,
    payments,
    recon_exceptions,
    recon_files,
    recon_lines,
    refunds_due,
)

from .conftest import WRITERS, Row, add_bill, count, pay

NOW = dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.UTC)
POSTED = dt.datetime(2026, 11, 18, 6, 0, tzinfo=dt.UTC)
LONG_AGO = dt.datetime(2026, 11, 10, 6, 0, tzinfo=dt.UTC)


def setup_ledger(store: Store, config: Config, channel: str) -> None:
    for no in ("A", "B", "C", "D", "E", "F", "H", "J"):
        add_bill(store, f"B2611{no}00000001", account_no=f"10000000{ord(no) - 64}")
    add_bill(store, "B2611I00000001", account_no="100000009", amount=100)
    add_bill(store, "B2610G00000001", account_no="100000007", period="2026-10")
    add_bill(store, "B2611G00000001", account_no="100000007")
    pay(store, config, channel, "pay_match", "B2611A00000001", 123450, now=POSTED)
    pay(store, config, channel, "pay_held", "B2611C00000001", 123450, now=LONG_AGO)
    pay(store, config, channel, "pay_mismatch", "B2611D00000001", 123450, now=POSTED)
    pay(store, config, channel, "pay_dup1", "B2611E00000001", 123450, now=POSTED)
    pay(store, config, channel, "pay_refund", "B2611F00000001", 123450, now=POSTED)
    pay(store, config, channel, "pay_pending", "B2611H00000001", 123450, now=POSTED,
        status="pending")
    pay(store, config, channel, "pay_partial", "B2611J00000001", 123450, now=POSTED)


def scenario_rows() -> list[Row]:
    return [
        Row("payment", "pay_match", "B2611A00000001", 123450, fee=2469, tax=444),
        Row("payment", "pay_nocb", "B2611B00000001", 123450, fee=2469, tax=444),
        Row("payment", "pay_mismatch", "B2611D00000001", 99900, fee=1998, tax=360),
        Row("payment", "pay_dup1", "B2611E00000001", 123450),
        Row("payment", "pay_dup2", "B2611E00000001", 123450),
        Row("refund", "pay_refund", "B2611F00000001", 123450, refund_id="rfnd_1",
            settlement_id="setl_2"),
        Row("payment", "pay_old", "B2610G00000001", 123450, settlement_id="setl_2"),
        Row("payment", "pay_unknown", "B2611Z00000001", 50000, settlement_id="setl_2"),
        Row("payment", "pay_pending", "B2611H00000001", 123450, settlement_id="setl_2"),
        Row("payment", "pay_badnet", "B2611I00000001", 100, net=90, settlement_id="setl_3"),
        Row("other", "adj_1", None, 500, settlement_id="setl_2"),
        Row("payment", "pay_partial", "B2611J00000001", 123450, settlement_id="setl_2"),
        Row("refund", "pay_partial", "B2611J00000001", 20000, refund_id="rfnd_2",
            settlement_id="setl_2"),
    ]


@pytest.fixture(params=sorted(WRITERS))
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def write(tmp_path: Path, fmt: str, rows: list[Row], name: str = "settlement") -> tuple[str, Path]:
    channel, suffix, writer = WRITERS[fmt]
    return channel, writer(tmp_path / f"{name}-{fmt}{suffix}", rows)


def outcomes(store: Store, file_id: int) -> dict[str, str]:
    with store.connect() as conn:
        return {r.txn_id: r.outcome for r in conn.execute(
            select(recon_lines.c.txn_id, recon_lines.c.outcome)
            .where(recon_lines.c.file_id == file_id))}


def test_every_outcome_in_each_format(store: Store, recon_config: Config, tmp_path: Path,
                                      fmt: str) -> None:
    channel, path = write(tmp_path, fmt, scenario_rows())
    setup_ledger(store, recon_config, channel)
    sms_before = count(store, outbox)
    report = import_settlement(store, recon_config, path, channel, now=NOW)
    assert report.ok, report.errors
    assert report.format == fmt
    got = outcomes(store, report.file_id)
    assert got == {
        "pay_match": "matched", "pay_nocb": "posted", "pay_mismatch": "amount_mismatch",
        "pay_dup1": "matched", "pay_dup2": "duplicate_payment", "pay_refund": "refund",
        "pay_old": "superseded", "pay_unknown": "suspense", "pay_pending": "posted",
        "pay_badnet": "posted", "adj_1": "ignored", "pay_partial": "partial_refund"}
    assert report.counts["not_settled"] == 1
    assert report.counts["settlement_mismatch"] == 1
    assert [s["ok"] for s in report.settlements] == [True, True, False]
    with store.connect() as conn:
        open_by = {(e.outcome, e.txn_id) for e in list_exceptions(conn)}
        dup = conn.execute(select(refunds_due)).one()
        posted = {r.txn_id: r for r in conn.execute(
            select(payments).where(payments.c.txn_id.in_(["pay_nocb", "pay_dup2", "pay_old",
                                                          "pay_pending"])))}
        reversal = conn.execute(select(func.count()).select_from(ledger).where(
            ledger.c.kind == "reversal")).scalar_one()
    assert ("not_settled", "pay_held") in open_by
    assert ("amount_mismatch", "pay_mismatch") in open_by
    assert ("duplicate_payment", "pay_dup2") in open_by
    assert ("suspense", "pay_unknown") in open_by
    assert ("superseded", "pay_old") in open_by
    assert ("settlement_mismatch", None) in open_by
    assert ("partial_refund", "pay_partial") in open_by
    assert (dup.bill_no, dup.amount) == ("B2611E00000001", 123450)
    assert all(p.status == "success" and p.receipt_no for p in posted.values())
    assert posted["pay_nocb"].reference.startswith("recon:")
    assert reversal == 1
    # one SMS per payment posted by reconciliation (nocb, dup2, old, pending, badnet) and
    # one for the reversal
    assert count(store, outbox) - sms_before == 6


def net_collected(store: Store, channel: str) -> int:
    with store.connect() as conn:
        return -int(conn.execute(
            select(func.coalesce(func.sum(ledger.c.amount), 0))
            .select_from(ledger.join(payments, ledger.c.payment_id == payments.c.id))
            .where(payments.c.channel == channel,
                   ledger.c.kind.in_(("payment", "reversal", "cancel")))).scalar_one())


def test_totals_equal_the_ledger_to_the_paisa(store: Store, recon_config: Config,
                                              tmp_path: Path, fmt: str) -> None:
    channel, path = write(tmp_path, fmt, scenario_rows())
    setup_ledger(store, recon_config, channel)
    import_settlement(store, recon_config, path, channel, now=NOW)
    # callbacks: match, held, mismatch (as posted), dup1 (refund reversed it); recon posted
    # nocb, dup2, old, pending and badnet (100); suspense adds nothing
    # pay_partial (callback) stays posted: a partial refund is for review, not reversed
    expected = 123450 * 5 + 123450 * 4 + 100
    assert net_collected(store, channel) == expected


def test_same_file_twice_changes_nothing(store: Store, recon_config: Config, tmp_path: Path,
                                         fmt: str) -> None:
    channel, path = write(tmp_path, fmt, scenario_rows())
    setup_ledger(store, recon_config, channel)
    first = import_settlement(store, recon_config, path, channel, now=NOW)
    tables = (ledger, payments, outbox, recon_lines, recon_exceptions, refunds_due, recon_files)
    before = [count(store, t) for t in tables]
    again = import_settlement(store, recon_config, path, channel, now=NOW)
    assert again.ok and again.already_imported == first.file_id
    assert [count(store, t) for t in tables] == before


def test_later_file_closes_earlier_exceptions(store: Store, recon_config: Config,
                                              tmp_path: Path, fmt: str) -> None:
    channel, path = write(tmp_path, fmt, scenario_rows())
    setup_ledger(store, recon_config, channel)
    import_settlement(store, recon_config, path, channel, now=NOW)
    add_bill(store, "B2611Z00000001", account_no="100000026", amount=50000)
    later = [Row("payment", "pay_held", "B2611C00000001", 123450, settlement_id="setl_9",
                 settled_on="2026-11-22"),
             Row("payment", "pay_unknown", "B2611Z00000001", 50000, settlement_id="setl_9",
                 settled_on="2026-11-22")]
    _, path2 = write(tmp_path, fmt, later, name="later")
    report = import_settlement(store, recon_config, path2, channel, now=NOW)
    assert report.ok, report.errors
    assert outcomes(store, report.file_id) == {"pay_held": "matched", "pay_unknown": "posted"}
    assert report.counts["closed"] == 2
    with store.connect() as conn:
        closed = {e.txn_id: e for e in list_exceptions(conn, state="closed")}
        still_open = {e.txn_id for e in list_exceptions(conn)}
    assert closed["pay_held"].reason.startswith("matched in later-")
    assert closed["pay_unknown"].reason.startswith("posted in later-")
    assert "pay_held" not in still_open and "pay_unknown" not in still_open


def test_dry_run_writes_nothing(store: Store, recon_config: Config, tmp_path: Path) -> None:
    channel, path = write(tmp_path, "generic", scenario_rows())
    setup_ledger(store, recon_config, channel)
    before = [count(store, t) for t in (ledger, payments, outbox, recon_lines, recon_files)]
    report = import_settlement(store, recon_config, path, channel, dry_run=True, now=NOW)
    assert report.ok and report.counts["posted"] == 3
    assert [count(store, t) for t in (ledger, payments, outbox, recon_lines,
                                      recon_files)] == before


def test_bad_row_names_file_row_column_and_writes_nothing(store: Store, recon_config: Config,
                                                          tmp_path: Path) -> None:
    add_bill(store, "B2611B00000001")
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"txn_id": "t1", "bill_no": "B2611B00000001", "amount": "1234.50", "status": "success"}\n'
        '{"txn_id": "t2", "bill_no": "B2611B00000001", "amount": "12.345", "status": "success"}\n'
        '{"txn_id": "", "bill_no": "B2611B00000001", "amount": "1.00", "status": "success"}\n')
    report = import_settlement(store, recon_config, path, "upi", now=NOW)
    assert not report.ok
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "amount", "too_many_decimals"), (3, "txn_id", "missing_value")]
    assert "bad.jsonl:2 [amount]" in str(report.errors[0])
    assert count(store, payments) == 0 and count(store, recon_files) == 0


def test_float_cells_exact_or_refused(store: Store, recon_config: Config,
                                      tmp_path: Path) -> None:
    import openpyxl

    add_bill(store, "B2611B00000001", amount=123450)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["cf_payment_id", "order_id", "event_type", "event_amount"])
    sheet.append(["cf1", "B2611B00000001", "PAYMENT", 1234.5])
    book.save(tmp_path / "ok.xlsx")
    report = import_settlement(store, recon_config, tmp_path / "ok.xlsx", "cashfree", now=NOW)
    assert report.ok and report.counts == {"posted": 1, "not_settled": 0}
    with store.connect() as conn:
        assert conn.execute(select(payments.c.amount)).scalar_one() == 123450
    sheet.append(["cf2", "B2611B00000001", "PAYMENT", 1234.567])  # a float, 3 decimals
    book.save(tmp_path / "float.xlsx")
    bad = import_settlement(store, recon_config, tmp_path / "float.xlsx", "cashfree", now=NOW)
    assert [(e.row, e.column, e.code) for e in bad.errors] == [
        (3, "event_amount", "too_many_decimals")]
    jsonl = tmp_path / "float.jsonl"
    jsonl.write_text('{"txn_id": "t9", "bill_no": "B2611B00000001", '
                     '"amount": 0.30000000000000004, "status": "success"}\n')
    bad = import_settlement(store, recon_config, jsonl, "upi", now=NOW)
    assert [(e.row, e.column, e.code) for e in bad.errors] == [
        (1, "amount", "too_many_decimals")]


def test_missing_column_and_unknown_channel(store: Store, recon_config: Config,
                                            tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n1,2\n")
    report = import_settlement(store, recon_config, path, "razorpay", now=NOW)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (1, "payment_id", "missing_column")]
    with pytest.raises(ConfigError) as err:
        import_settlement(store, recon_config, path, "nope", now=NOW)
    assert err.value.code == "unknown_channel"


def test_refunds_due_listed_on_the_cli(store: Store, recon_config: Config, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from qrpay.cli import main

    channel, path = write(tmp_path, "generic", scenario_rows())
    setup_ledger(store, recon_config, channel)
    import_settlement(store, recon_config, path, channel, now=NOW)
    monkeypatch.setenv("QRPAY_DATABASE_URL", recon_config.database_url)
    assert main(["--config", str(recon_config.path), "recon", "refunds"]) == 0
    out = capsys.readouterr().out
    assert "B2611E00000001" in out and "1 refund(s) due, 1,234.50" in out
    assert main(["--config", str(recon_config.path), "recon", "exceptions", "--json"]) == 0
    assert '"outcome": "duplicate_payment"' in capsys.readouterr().out


def test_second_line_for_a_settled_payment_across_batches(store: Store, recon_config: Config,
                                                          tmp_path: Path) -> None:
    channel, path = write(tmp_path, "generic", [
        Row("payment", "pay_match", "B2611A00000001", 123450),
        Row("payment", "pay_x1", "B2611B00000001", 123450),
        Row("payment", "pay_match", "B2611A00000001", 123450)])
    setup_ledger(store, recon_config, channel)
    report = import_settlement(store, recon_config, path, channel, now=NOW, batch_size=1)
    assert report.counts["matched"] == 1 and report.counts["already_settled"] == 1


def test_outcome_per_payment(store: Store, recon_config: Config, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    from qrpay.cli import main
    from qrpay.errors import NotFound
    from qrpay.recon.queue import payment_history

    channel, path = write(tmp_path, "razorpay", scenario_rows())
    setup_ledger(store, recon_config, channel)
    import_settlement(store, recon_config, path, channel, now=NOW)
    with store.connect() as conn:
        nocb = payment_history(conn, channel, "pay_nocb")
        held = payment_history(conn, channel, "pay_held")
        with pytest.raises(NotFound):
            payment_history(conn, channel, "nope")
    assert nocb["payment"]["status"] == "success" and nocb["payment"]["receipt_no"]
    assert [ln["outcome"] for ln in nocb["lines"]] == ["posted"]
    assert (nocb["lines"][0]["fee"], nocb["lines"][0]["tax"]) == ("24.69", "4.44")
    assert held["lines"] == [] and held["exceptions"][0]["outcome"] == "not_settled"
    monkeypatch.setenv("QRPAY_DATABASE_URL", recon_config.database_url)
    assert main(["--config", str(recon_config.path), "recon", "payment", "pay_dup2",
                 "--channel", channel]) == 0
    out = capsys.readouterr().out
    assert "duplicate_payment" in out and "-> refund" in out


def test_same_file_imported_concurrently_posts_once(store: Store, recon_config: Config,
                                                    tmp_path: Path) -> None:
    import threading

    channel, path = write(tmp_path, "generic", scenario_rows())
    setup_ledger(store, recon_config, channel)
    reports = []

    def run() -> None:
        reports.append(import_settlement(store, recon_config, path, channel, now=NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.already_imported is None for r in reports) == [False, True]
    assert count(store, recon_files) == 1
    assert count(store, payments, payments.c.txn_id == "pay_nocb") == 1


def test_collection_report_after_reconciliation_equals_the_ledger(
        store: Store, recon_config: Config, tmp_path: Path, fmt: str) -> None:
    """The finance view after a file: the month's report (rollup and ledger tail) adds up
    to the ledger to the paisa, by channel too, and settled + unsettled = digital."""
    from qrpay.reports import rollup
    from qrpay.reports.collections import collections, ledger_figure

    channel, path = write(tmp_path, fmt, scenario_rows())
    setup_ledger(store, recon_config, channel)
    rollup.catch_up(store, recon_config)  # part folded before the file, part after
    import_settlement(store, recon_config, path, channel, now=NOW)
    for fold in (False, True):
        if fold:
            rollup.catch_up(store, recon_config)
        with store.connect() as conn:
            report = collections(conn, recon_config, "2026-11", biller="best", by="channel")
            direct = ledger_figure(conn, recon_config, "best", "2026-11")
        assert report.total == direct
        assert sum(ln.figure.amount for ln in report.lines) == direct.amount
        assert next(ln.figure.amount for ln in report.lines if ln.key == channel) == (
            net_collected(store, channel))
        assert report.settled.amount + report.unsettled.amount == report.digital.amount
        assert report.settled.amount > 0
