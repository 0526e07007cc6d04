"""The desk actions without the web: a CLI or a USSD agent menu calls the same functions
and gets the same audit trail; the role table is read from the routes."""

from __future__ import annotations

import datetime as dt

from qrpay.config import Config
from qrpay.desk import actions
from qrpay.desk.audit import Where, entries
from qrpay.desk.counter import CollectIn, new_txn_id
from qrpay.desk.staff import verify_login
from qrpay.store import Store
from qrpay.web.desk import PROTECTED, ROUTES
from tests.desk.conftest import PASSWORD, add_user, insert_bill, make_bill

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


def _login(store: Store, config: Config, username: str) -> actions.Actor:
    check = verify_login(store, username, PASSWORD, NOW)
    with store.begin() as conn:
        done = actions.login(conn, config, Where(remote="ussd"), check, NOW)
    assert done.token and done.staff
    return actions.Actor(done.staff, done.shift_id, "ussd")


def test_login_scan_collect_cancel_close_without_http(store: Store, best_config: Config) -> None:
    bill = insert_bill(store, make_bill())
    add_user(store, "asha")
    add_user(store, "meera", "supervisor")
    asha = _login(store, best_config, "asha")
    with store.begin() as conn:
        seen = actions.scan(conn, best_config, asha, actions.ScanIn(bill.bill_no, "ussd"), NOW)
        assert seen.outcome is not None and seen.outcome.can_collect
        done = actions.collect(conn, best_config, asha, CollectIn(
            bill.bill_no, new_txn_id(), 123450, "cash"), NOW)
    meera = _login(store, best_config, "meera")
    with store.begin() as conn:
        actions.cancel(conn, best_config, meera,
                       actions.CancelIn(done.receipt_no, "wrong bill"), NOW)
        summary = actions.close_shift(conn, best_config, meera,
                                      actions.CloseIn(asha.shift_id or 0, 0), NOW)
    assert summary.cancelled == 1 and summary.expected_cash == 0
    with store.connect() as conn:
        trail = [(e.actor, e.action) for e in entries(conn, since=EPOCH)]
    assert trail == [("asha", "shift_open"), ("asha", "login"), ("asha", "scan"),
                     ("asha", "collect"), ("meera", "login"), ("meera", "cancel"),
                     ("meera", "shift_close")]


def test_role_table_lists_every_staff_route_and_no_public_one() -> None:
    listed = {(m, p) for m, p, _ in PROTECTED}
    for route in ROUTES:
        for method in (route.methods or set()) - {"HEAD"}:
            public = route.path == "/desk/login" or route.path.endswith((".css", ".js"))
            assert ((method, route.path) in listed) is not public, (method, route.path)
    assert ("POST", "/desk/receipt/{receipt_no}/cancel", "supervisor") in PROTECTED
    assert ("GET", "/desk/audit", "supervisor") in PROTECTED
