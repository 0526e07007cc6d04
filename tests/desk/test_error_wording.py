"""Issue 10 item 5: an error the desk answers is worded in the desk's language, not the
core's English message (a huge amount, a NUL, an overlong password on the Hindi or
Bengali desk)."""

from __future__ import annotations

import re
import tomllib

import pytest

from qrpay.store import Store
from tests.desk.conftest import ROOT, add_user, insert_bill, make_bill

# Codes the desk's forms can meet (qrpay.money, qrpay.web.limits, the login form).
FORM_CODES = ["amount_too_large", "invalid_amount", "negative_amount", "too_many_decimals",
              "missing_amount", "nul_character", "password_too_long"]
ALERT = re.compile(r'data-code="([a-z_]+)">([^<]*)<')


def _errors(lang: str) -> dict[str, str]:
    text = (ROOT / "templates" / "desk" / f"{lang}.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["errors"])


@pytest.mark.parametrize("lang", ["en", "hi", "bn"])
def test_every_form_code_has_wording(lang: str) -> None:
    assert [c for c in FORM_CODES if c not in _errors(lang)] == []


@pytest.mark.parametrize("lang", ["hi", "bn"])
@pytest.mark.parametrize(("path", "field", "value", "code"), [
    ("/desk/collect", "amount", "9" * 25, "amount_too_large"),
    ("/desk/shift/close", "declared_cash", str(2**64), "amount_too_large"),
    ("/desk/scan", "payload", "B2611\x00100000001", "nul_character"),
])
def test_a_refused_form_is_answered_in_the_desks_language(make_desk, store: Store, lang: str,  # type: ignore[no-untyped-def]
                                                          path: str, field: str, value: str,
                                                          code: str) -> None:
    add_user(store, "asha")
    insert_bill(store, make_bill())
    desk = make_desk()
    assert desk.login("asha") == 303
    desk.client.get(f"/desk?lang={lang}")
    data = {"bill_no": "B2611100000001", "txn_id": "C-1", "amount": "100", "mode": "cash",
            "declared_cash": "0", "payload": "x"}
    data[field] = value
    r = desk.post(path, data)
    assert 400 <= r.status_code < 500
    assert (code, _errors(lang)[code]) in ALERT.findall(r.text)
