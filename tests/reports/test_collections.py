"""The collections report adds up exactly to the ledger; the KESCO table of seed 004."""

from __future__ import annotations

import datetime as dt

from qrpay.config import Config
from qrpay.payments.posting import PaymentIn, post_payment
from qrpay.reports import rollup
from qrpay.reports.collections import collections, ledger_figure
from qrpay.reports.output import collections_table, to_csv, to_text
from qrpay.store import Store

from .conftest import synthetic_ledger


def kesco_table(store: Store, config: Config, lang: str = "en") -> str:
    with store.connect() as conn:
        report = collections(conn, config, "2019-12", biller="kesco")
    return to_text(collections_table(report, lang), lang)


def test_kesco_table_from_a_synthetic_ledger(big_store: Store, kesco_config: Config) -> None:
    store = big_store
    synthetic_ledger(store)
    rollup.catch_up(store, kesco_config)
    text = kesco_table(store, kesco_config)
    lines = {ln.split("  ")[0]: ln for ln in text.splitlines()}
    assert "18,774" in lines["Credit/debit card"] and "8,23,97,211.00" in lines[
        "Credit/debit card"]
    assert "2,422" in lines["Net banking"] and "67,79,176.00" in lines["Net banking"]
    assert "85,688" in lines["E-wallet"] and "13,83,87,363.00" in lines["E-wallet"]
    assert "1,06,884" in lines["Total"] and "22,75,63,750.00" in lines["Total"]
    assert [ln.split("  ")[0] for ln in text.splitlines()[4:7]] == [
        "Credit/debit card", "Net banking", "E-wallet"]  # the seed's order
    hindi = kesco_table(store, kesco_config, "hi")
    assert "क्रेडिट/डेबिट कार्ड" in hindi and "ई वॉलेट आदि" in hindi and "1,06,884" in hindi
    bengali = kesco_table(store, kesco_config, "bn")
    assert "২২,৭৫,৬৩,৭৫০.০০" in bengali and "১,০৬,৮৮৪" in bengali


def test_report_equals_the_ledger_before_and_after_the_rollup(store: Store,
                                                              kesco_config: Config) -> None:
    small = (("card", 7, 1001), ("wallet", 5, 333))
    synthetic_ledger(store, modes=small)
    with store.connect() as conn:
        direct = ledger_figure(conn, kesco_config, "kesco", "2019-12")
        tail_only = collections(conn, kesco_config, "2019-12", biller="kesco")
    assert (direct.count, direct.amount) == (12, 133400)
    assert tail_only.total == direct
    rollup.catch_up(store, kesco_config)
    with store.begin() as conn:  # a reversal after the rollup: only in the ledger tail
        post_payment(conn, kesco_config, PaymentIn(
            channel="razorpay", txn_id="t3", bill_no="K00000000003", amount=14300,
            currency="INR", status="reversed"), now=dt.datetime(2019, 12, 30, tzinfo=dt.UTC))
    with store.connect() as conn:
        after = collections(conn, kesco_config, "2019-12", biller="kesco")
        direct = ledger_figure(conn, kesco_config, "kesco", "2019-12")
    assert after.total == direct and direct.count == 11
    rollup.catch_up(store, kesco_config)
    with store.connect() as conn:
        assert collections(conn, kesco_config, "2019-12", biller="kesco").total == direct


def test_digital_share_mom_yoy_and_csv(store: Store, kesco_config: Config) -> None:
    nxt = synthetic_ledger(store, modes=(("card", 10, 1000),))
    nxt = synthetic_ledger(store, modes=(("card", 8, 800),), first_id=nxt,
                           start=dt.datetime(2019, 11, 1, tzinfo=dt.UTC), days=29)
    nxt = synthetic_ledger(store, modes=(("cash", 10, 500),), first_id=nxt, channel="counter")
    synthetic_ledger(store, modes=(("wallet", 4, 400),), first_id=nxt,
                     start=dt.datetime(2018, 12, 2, tzinfo=dt.UTC), days=20)
    rollup.catch_up(store, kesco_config)
    with store.connect() as conn:
        r = collections(conn, kesco_config, "2019-12", biller="kesco")
    assert r.total.count == 20 and r.digital.count == 10
    assert str(r.digital_percent) == "50.0" and str(r.target_percent) == "80"
    assert (r.previous.count, r.last_year.count) == (8, 4)
    text = to_text(collections_table(r, "en"), "en")
    assert "Digital share: 50.0% (10 / 20); Target: 80%" in text
    assert "Month on month: Number +150.0%, Amount +87.5%" in text
    assert "Year on year: Number +400.0%, Amount +275.0%" in text
    csv_text = to_csv(collections_table(r, "en"), "en")
    assert csv_text.splitlines()[1:] == ["card,10,1000.00,Credit/debit card",
                                        "cash,10,500.00,Cash (counter)",
                                        "total,20,1500.00,Total"]


def test_database_fold_equals_the_row_by_row_fold(store: Store, kesco_config: Config) -> None:
    """The rollup groups in SQL (local day computed by the database); the same entries
    summed row by row in Python give the same totals, across local midnight too."""
    nxt = synthetic_ledger(store, modes=(("card", 7, 1001), ("wallet", 5, 333)))
    synthetic_ledger(store, modes=(("upi", 6, 600),), first_id=nxt, days=1,
                     start=dt.datetime(2019, 12, 4, 18, 29, 30, tzinfo=dt.UTC))
    with store.connect() as conn:
        by_db = rollup._fold(conn, kesco_config, 0, 10**9)
        by_row = rollup.aggregate(kesco_config, conn.execute(rollup.entries_query())).rows()

    def key(r: dict) -> tuple:
        return tuple(r[d] for d in rollup.DIMS)

    assert sorted(by_db, key=key) == sorted(by_row, key=key)
    days = {r["day"] for r in by_db if r["mode"] == "upi"}
    assert dt.date(2019, 12, 4) not in days or dt.date(2019, 12, 5) in days


def test_by_counter_cashier_category_and_area(store: Store, best_config: Config) -> None:
    from qrpay.store.schema import shifts, staff
    from tests.recon.conftest import add_bill

    now = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
    with store.begin() as conn:
        for sid, name, counter in ((1, "asha", "C1"), (2, "ravi", "C2")):
            conn.execute(staff.insert().values(id=sid, username=name, password_hash="x",
                                               role="cashier", biller="best",
                                               counter=counter, created_at=now))
            conn.execute(shifts.insert().values(id=sid, staff_id=sid, biller="best",
                                                counter=counter, opened_at=now))
    for n, (cat, area, sid) in enumerate([("domestic", "urban", 1), ("commercial", "rural", 2),
                                          ("domestic", "rural", 2)]):
        bill = add_bill(store, f"B2611{'ABC'[n]}00000001", category=cat, area=area)
        with store.begin() as conn:
            post_payment(conn, best_config, PaymentIn(
                channel="counter", txn_id=f"c{n}", bill_no=bill.bill_no, amount=10000 * (n + 1),
                currency="INR", mode="cash", staff_id=sid, shift_id=sid), now=now)
    rollup.catch_up(store, best_config)
    with store.connect() as conn:
        def by(dim: str) -> dict[str, tuple[int, int]]:
            r = collections(conn, best_config, "2026-11", by=dim)
            return {ln.key: (ln.figure.count, ln.figure.amount) for ln in r.lines}

        assert by("counter") == {"C1": (1, 10000), "C2": (2, 50000)}
        assert by("cashier") == {"1": (1, 10000), "2": (2, 50000)}
        assert by("category") == {"domestic": (2, 40000), "commercial": (1, 20000)}
        assert by("area") == {"rural": (2, 50000), "urban": (1, 10000)}
        assert by("mode") == {"cash": (3, 60000)}
        report = collections(conn, best_config, "2026-11", by="cashier")
    text = to_text(collections_table(report, "en"), "en")
    assert "ravi" in text and "asha" in text
    assert str(report.digital_percent) == "0.0"


KESCO_CONNECTIONS = (("domestic", 5_25_699), ("commercial", 80_943), ("small & medium", 13_020),
                     ("public water works", 1_147), ("large & heavy", 852),
                     ("public lamps", 20))


def test_kesco_consumers_by_category(big_store: Store, kesco_config: Config) -> None:
    """Seed 004's connections by category, counted back by ``qrpay report consumers``."""
    from sqlalchemy import text

    from qrpay.reports.accounts import consumers
    from qrpay.reports.output import count_text

    store = big_store
    first = 0
    with store.begin() as conn:
        for category, n in KESCO_CONNECTIONS:
            rows = (f"generate_series({first}, {first + n - 1}) AS s(i)" if not store.is_sqlite
                    else f"(WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 "
                         f"FROM s WHERE i < {first + n - 1}) SELECT i FROM s) AS s")
            conn.execute(text(
                "INSERT INTO bills (bill_no, biller, account_no, name, period, amount, due_date,"
                " arrears, category, area, content_hash, created_at, updated_at) "
                "SELECT 'K' || i, 'kesco', 'A' || i, 'x', '2019-12', 100, :due, 0, :cat, "
                f"'urban', 'x', :now, :now FROM {rows}"),
                {"due": dt.date(2019, 12, 20), "cat": category,
                 "now": dt.datetime(2019, 12, 1, tzinfo=dt.UTC)})
            first += n
    with store.connect() as conn:
        groups = consumers(conn, "kesco")
    got = {g.keys[0]: g.accounts for g in groups}
    assert got == dict(KESCO_CONNECTIONS)
    assert count_text(sum(got.values()), "en") == "6,21,681"  # "6.25 lakh" in the seed
    assert count_text(got["domestic"], "bn") == "৫,২৫,৬৯৯"
