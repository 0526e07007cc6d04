"""``qrpay channel simulate <channel> --account N --url URL``: walk the biller API as the
channel's wallet would (inquiry -> payment -> status), printing each request's answer.

For demos and tests: the channel's dialect comes from the profile
(``[channels.<name>] biller_api``), its user name from the profile and its password from
``QRPAY_CHANNEL_PASSWORD_<CHANNEL>`` (environment or ``QRPAY_SECRETS_FILE``).  The
amount paid is what the inquiry says is due, unless ``--amount`` is given.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

from qrpay.errors import ConfigError, QrpayError


def register(sub: Any) -> None:
    p = sub.add_parser("channel", help="biller API: simulate a wallet or BBPS calling us")
    csub = p.add_subparsers(dest="channel_command", required=True, metavar="ACTION")
    s = csub.add_parser("simulate", help="walk inquiry -> payment -> status against a server")
    s.add_argument("channel", help="channel name from the profile (bkash, rocket, bbps...)")
    s.add_argument("--account", required=True, help="account (or bill, meter) number")
    s.add_argument("--url", default="http://127.0.0.1:8000",
                   help="the server's base URL (default %(default)s)")
    s.add_argument("--amount", help="amount to pay (default: the amount due)")
    s.add_argument("--txn-id", help="the channel's transaction id (default: random)")
    s.set_defaults(func=simulate_cmd)


class Walk:
    """One simulated conversation: prints each step, remembers the answers."""

    def __init__(self, client: Any, base: str, out: Any, user: str, password: str,
                 jwt: bool = False) -> None:
        self.client, self.base, self.out = client, base, out
        self.user, self.password, self.jwt = user, password, jwt
        self._basic = {"Authorization": "Basic " + base64.b64encode(
            f"{user}:{password}".encode()).decode()}

    @property
    def basic(self) -> dict[str, str]:
        """The Authorization header: Basic, or (``auth = "jwt"``) a fresh bearer JWT
        signed as Setu signs one, ``aud`` the credential's user name."""
        if not self.jwt:
            return self._basic
        from qrpay.biller.guard import jwt_for
        from qrpay.clock import utcnow

        token = jwt_for(self.password, self.user, utcnow(), secrets.token_hex(16))
        return {"Authorization": f"Bearer {token}"}

    def call(self, step: str, method: str, path: str, **kw: Any) -> Any:
        url = self.base + path
        try:
            r = self.client.request(method, url, **kw)
        except Exception as exc:  # noqa: BLE001 - httpx errors of every kind
            raise QrpayError(f"cannot reach {url}: {exc} (is `qrpay serve` running there? "
                             "pass --url)", code="connection_failed") from None
        try:
            body = r.json()
        except ValueError:
            body = r.text
        print(f"{step}: {method} {path} -> {r.status_code}", file=self.out)
        print(json.dumps(body, ensure_ascii=False, indent=1), file=self.out)
        return r.status_code, body


def _bkash(w: Walk, account: str, amount: str | None, txn: str) -> bool:
    creds = {"UserName": w.user, "Password": w.password}
    _, q = w.call("queryBill", "POST", "/queryBill", data={**creds, "AccNo": account})
    if q.get("ErrorCode") != "200" or "BillAmount" not in q:
        return False
    _, p = w.call("payBill", "POST", "/payBill", data={
        **creds, "AccNo": account, "Amount": amount or q["BillAmount"], "TrxId": txn,
        "UserMobileNumber": "01700000000"})
    _, s = w.call("searchTransaction", "POST", "/searchTransaction",
                  data={**creds, "TrxId": txn})
    return bool(p.get("ErrorCode") == "200" and s.get("RefNumber") == p.get("RefNumber"))


def _rocket(w: Walk, account: str, amount: str | None, txn: str) -> bool:
    code, v = w.call("validation", "POST", "/validation", headers=w.basic,
                     json={"refNo1": account})
    if code != 200:
        return False
    c, p = w.call("confirmation", "POST", "/confirmation", headers=w.basic, json={
        "txnId": txn, "refNo1": account, "amount": amount or v["billAmount"]})
    _, s = w.call("inquiry", "POST", "/inquiry", headers=w.basic, json={"txnId": txn})
    return c == 200 and s.get("receiptNo") == p.get("receiptNo")


def _bbps(w: Walk, account: str, amount: str | None, txn: str) -> bool:
    code, f = w.call("bills/fetch", "POST", "/bills/fetch", headers=w.basic, json={
        "customerIdentifiers": [{"attributeName": "customerId", "attributeValue": account}]})
    bills = f.get("data", {}).get("billDetails", {}).get("bills", []) if code == 200 else []
    if not bills:
        return False
    due = bills[0]["aggregates"]["total"]["amount"]["value"]
    paise = int(round(float(amount) * 100)) if amount else due
    body = {"billerBillID": bills[0]["billerBillID"], "platformBillID": "SIM" + txn,
            "paymentDetails": {"amountPaid": {"value": paise}, "billAmount": {"value": due},
                               "uniquePaymentRefID": txn, "platformTransactionRefID": txn,
                               "instrument": "UPI"}}
    c1, r1 = w.call("bills/fetchReceipt", "POST", "/bills/fetchReceipt", headers=w.basic,
                    json=body)
    c2, r2 = w.call("bills/fetchReceipt (retry)", "POST", "/bills/fetchReceipt",
                    headers=w.basic, json=body)
    return c1 == c2 == 200 and r1 == r2


def _gsma(w: Walk, account: str, amount: str | None, txn: str) -> bool:
    base = f"/accounts/accountid/{account}/bills"
    code, bills = w.call("bills", "GET", base, headers=w.basic)
    if code != 200 or not bills:
        return False
    ref = bills[0]["billReference"]
    c, p = w.call("payments (create)", "POST", f"{base}/{ref}/payments", headers=w.basic, json={
        "amountPaid": amount or bills[0]["amountDue"], "currency": bills[0]["currency"],
        "requestingOrganisationTransactionReference": txn})
    _, listed = w.call("payments (list)", "GET", f"{base}/{ref}/payments", headers=w.basic)
    return c == 201 and any(x.get("serviceProviderPaymentReference") ==
                            p.get("serviceProviderPaymentReference") for x in listed)


WALKS: dict[str, Callable[[Walk, str, str | None, str], bool]] = {
    "bkash": _bkash, "rocket": _rocket, "bbps": _bbps, "gsma": _gsma}


def simulate_cmd(args: argparse.Namespace, ctx: Any) -> int:
    import httpx

    from qrpay.biller.service import channel_api
    from qrpay.config import secret

    api = channel_api(ctx.config, args.channel)
    walk = WALKS.get(api.dialect)
    if walk is None:
        raise ConfigError(f"no simulator for dialect {api.dialect}", code="unknown_dialect")
    cred = api.credentials[0]
    password = secret(cred.password_env) or ""
    txn = args.txn_id or ("SIM" + secrets.token_hex(5).upper())
    base = f"{args.url.rstrip('/')}/api/v1/biller/{args.channel}"
    with httpx.Client(timeout=30) as client:
        ok = walk(Walk(client, base, ctx.out, cred.username, password,
                       jwt=api.auth == "jwt"), args.account, args.amount, txn)
    print("walk complete: paid once, status agrees" if ok else "walk stopped: see above",
          file=ctx.out)
    return 0 if ok else 1
