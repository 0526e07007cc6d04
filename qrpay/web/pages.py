"""Consumer bill pages: ``/b/{bill_no}?t=TOKEN``, its dynamic QR and its PDF.

The URL inside the printed QR carries a token (``qrpay.payload.token``) made over the
biller, the bill number, the payee and the amount printed on the bill.  Bill numbers are
guessable (YYMM + account), so without a token that checks, these routes show nothing
personal: the same neutral page, whether or not the bill exists.

**When the amount changes.**  The page accepts the token if it checks against the bill's
``amount`` or its ``late_amount`` (the two amounts a printed bill states), or against the
amount due now (the token inside a dynamic QR this service drew after a part payment).
So a printed token keeps working after the due date and after part payments: what the
page shows and what the Pay button asks for comes from the ledger (``bill_status``),
never from the token.  If the utility re-imports the bill with a different amount, old
tokens stop working on purpose: the consumer is sent to the new bill.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jinja2 import Template
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from qrpay.biller.howto import howto
from qrpay.bills import Bill, normalise_bill_no
from qrpay.config import Biller, Config
from qrpay.digits import localise, to_ascii
from qrpay.errors import NotFound
from qrpay.payload import (
    amount_payload,
    bill_payload,
    payee_id,
    qr_amount,
    resolve_format,
)
from qrpay.payload.token import check_token, split_token
from qrpay.payments.ledger import BillStatus, is_late
from qrpay.payments.reads import Reader
from qrpay.templating import env, texts

PRIVATE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex, nofollow"}
MAX_BILL_NO = 40


@dataclass(frozen=True)
class Found:
    bill: Bill
    biller: Biller
    today: dt.date
    status: BillStatus


# ------------------------------------------------------------------------ token check

def today_for_bill(config: Config, bill: Bill) -> dt.date:
    biller = config.billers.get(bill.biller)
    return (biller or config.default_biller).today()


@lru_cache(maxsize=16)
def template(name: str) -> Template:
    """A compiled template, kept: ``env().get_template`` would stat the file each time."""
    return env().get_template(name)


def _checks(config: Config, biller: Biller, bill: Bill, token: str, amount: int) -> bool:
    return check_token(config, token, biller.code, bill.bill_no, amount, payee_id(biller))


def clean_bill_no(raw: str) -> str:
    return normalise_bill_no(raw)[:MAX_BILL_NO]


def load_with_token(request: Request) -> Found | None:
    """The bill and its status if the URL's token checks, else None (unknown bill or bad
    token: the caller cannot tell which, and neither can the visitor).

    The token may be over the printed amount, the printed late amount, or (a dynamic QR
    shown after a part payment) the amount due now.  Bill numbers are guessable, so an
    unknown bill and a wrong token cost the same: one query, a bill built from its rows
    (a stand-in when there is none) and three MACs (:func:`token_checks`).  Only a token
    that checks reads the bill's payments.
    """
    token = request.query_params.get("t", "")
    if split_token(token) is None:
        return None
    config: Config = request.app.state.config
    reader: Reader = request.app.state.reader
    bill_no = clean_bill_no(request.path_params["bill_no"])
    bill, status, real = reader.bill_or_stand_in(bill_no, lambda b: today_for_bill(config, b))
    known = real and bill.biller in config.billers
    biller = config.billers[bill.biller] if known else config.default_biller
    if not token_checks(config, biller, bill, status, token) or not known:
        return None
    found = reader.bill_and_status(bill_no, lambda b: today_for_bill(config, b))
    if found is None:  # deleted in between
        return None
    return Found(found[0], biller, biller.today(), found[1])


def token_checks(config: Config, biller: Biller, bill: Bill, status: BillStatus,
                 token: str) -> bool:
    """Whether ``token`` is over the printed amount, the late amount or the amount due
    now: always three MACs, none skipped, so the time says nothing about the bill."""
    late = bill.late_amount if bill.late_amount is not None else bill.amount
    ok = False
    for amount in (bill.amount, late, status.due_now):
        ok |= _checks(config, biller, bill, token, amount)
    return ok


# ---------------------------------------------------------------------- language choice

def _accepted(request: Request) -> list[str]:
    header = request.headers.get("accept-language", "")
    return [part.split(";")[0].strip().split("-")[0].lower()
            for part in header.split(",") if part.strip()]


def page_language(request: Request, offered: tuple[str, ...], preferred: str | None) -> str:
    """``?lang=`` if offered, else the bill's language, else the biller's first."""
    asked = request.query_params.get("lang", "")
    if asked in offered:
        return asked
    if preferred in offered:
        return str(preferred)
    return offered[0]


def neutral_language(request: Request, config: Config) -> str:
    """Without a bill: ``?lang=``, Accept-Language, or the first biller's language."""
    offered = getattr(request.app.state, "languages", None) or deployment_languages(config)
    asked = request.query_params.get("lang", "")
    if asked in offered:
        return asked
    for lang in _accepted(request):
        if lang in offered:
            return lang
    return offered[0]


def deployment_languages(config: Config) -> tuple[str, ...]:
    langs: list[str] = []
    for b in config.billers.values():
        for lang in (*b.languages, "en"):
            if lang not in langs:
                langs.append(lang)
    return tuple(langs)


def numerals_for(biller: Biller, lang: str) -> str:
    """Native digits when the page is in the biller's own language, else ASCII."""
    return biller.numerals if lang == biller.language else "latn"


# --------------------------------------------------------------------------- view model

def pay_amount(status: BillStatus) -> int:
    return status.due_now if status.due_now > 0 else 0


def dynamic_payload(found: Found, config: Config, amount: int,
                    qr_format: str | None = None) -> str:
    """The payment payload for ``amount`` due today, in ``qr_format`` (default: the
    biller's).  Its bill URL carries a token over that same amount, so a resolver calls
    it genuine and the bill page accepts it."""
    bill, biller, today = found.bill, found.biller, found.today
    fmt = resolve_format(biller, qr_format)
    if fmt == biller.qr_format and amount == qr_amount(bill, today,
                                                       biller.late_payment.grace_days):
        return bill_payload(bill, biller, config, on=today)
    # part paid or adjusted: the e-bill's payload, at the amount due now
    return amount_payload(bill, biller, config, amount, qr_format=fmt)


def upi_intent(found: Found, config: Config, amount: int) -> str | None:
    """``upi://pay?...`` for the current amount, or None for billers not on UPI."""
    if found.biller.country != "IN" or not found.biller.payee.vpa or amount <= 0:
        return None
    return dynamic_payload(found, config, amount, "upi")


def channel_list(biller: Biller, config: Config) -> list[str]:
    return [config.channels[c].display_name or c if c in config.channels else c
            for c in biller.channels]


def _date(day: dt.date, numerals: str) -> str:
    return localise(day.strftime("%d-%m-%Y"), numerals)


def _period(period: str, numerals: str) -> str:
    year, month = period.split("-")
    return localise(f"{month}/{year}", numerals)


def bill_context(request: Request, found: Found) -> dict[str, Any]:
    config: Config = request.app.state.config
    bill, biller, status = found.bill, found.biller, found.status
    offered = tuple(dict.fromkeys((*biller.languages, "en")))
    lang = page_language(request, offered, bill.language)
    numerals = numerals_for(biller, lang)
    amount = pay_amount(status)
    token = request.query_params["t"]
    base = f"/b/{bill.bill_no}"
    return {
        "lang": lang, "t": texts("web", lang), "numerals": numerals,
        "currency": biller.currency, "bill": bill, "status": status,
        "biller_name": (biller.name_local if lang == biller.language and biller.name_local
                        else biller.name),
        "period": _period(bill.period, numerals), "due_date": _date(bill.due_date, numerals),
        "late": bill.late_amount is not None and is_late(bill, found.today,
                                                         biller.late_payment.grace_days),
        "amount_now": amount, "pay_url": upi_intent(found, config, amount),
        "channels": channel_list(biller, config) if biller.country == "BD" else [],
        "qr_url": f"{base}/qr.svg?t={token}" if amount > 0 else None,
        "pdf_url": f"{base}/bill.pdf?t={token}",
        "receipt_urls": [(no, f"{base}/receipt/{no}.pdf?t={token}") for no in status.receipts],
        "other_langs": [(code, f"{base}?t={token}&lang={code}")
                        for code in offered if code != lang],
        "helpline": biller.helpline,
        "howto": howto(config, biller, bill, lang),  # wallets' Pay Bill and USSD paths
    }


# ------------------------------------------------------------------------------- routes

async def qr_link(request: Request) -> Response:
    """``/B/{bill_no}/{TOKEN}``, the bill page URL as a bill's QR spells it (upper case,
    the token in the path: ``qrpay.payload.qr_url``): sent on to ``/b/{bill_no}?t=``.
    Nothing is looked up here, so an unknown bill and a wrong token answer alike."""
    token = request.path_params["token"]
    if split_token(token) is None:
        return neutral_page(request)
    bill_no = quote(clean_bill_no(request.path_params["bill_no"]), safe="")
    return RedirectResponse(f"/b/{bill_no}?t={quote(token, safe='.')}", status_code=302,
                            headers=PRIVATE)


async def bill_page(request: Request) -> Response:
    """The consumer's bill: amount due now, status, Pay button, PDF link."""
    found = load_with_token(request)
    if found is None:
        return neutral_page(request)
    html = template("web/bill.html").render(bill_context(request, found))
    return HTMLResponse(html, headers=PRIVATE)


def neutral_page(request: Request) -> HTMLResponse:
    """What anyone without a valid token sees: how to reach their bill, nothing else."""
    config: Config = request.app.state.config
    lang = neutral_language(request, config)
    helplines = list(dict.fromkeys(b.helpline for b in config.billers.values() if b.helpline))
    html = template("web/neutral.html").render(
        lang=lang, t=texts("web", lang), helplines=helplines)
    return HTMLResponse(html, headers=PRIVATE)


def current_payload(request: Request, found: Found) -> str:
    """The QR payload for today's amount (after part payments and the due date)."""
    amount = pay_amount(found.status)
    if amount <= 0:
        raise NotFound("nothing to pay on this bill", code="nothing_due")
    return dynamic_payload(found, request.app.state.config, amount)


@lru_cache(maxsize=2048)
def qr_image(payload: str, kind: str) -> bytes:
    """The QR drawn as SVG or PNG; cached by payload (a payload changes with the amount)."""
    from qrpay import qr

    if kind == "png":
        return qr.png_bytes(payload, scale=8)
    buf = io.BytesIO()
    qr.save_svg(payload, buf, scale=1)
    return buf.getvalue()


async def bill_qr(request: Request, kind: str) -> Response:
    found = load_with_token(request)
    if found is None:
        raise NotFound("no such bill", code="unknown_bill")
    payload = current_payload(request, found)
    body = qr_image(payload, kind)
    media = "image/svg+xml" if kind == "svg" else "image/png"
    return Response(body, media_type=media, headers=PRIVATE)


async def bill_qr_svg(request: Request) -> Response:
    """The bill's dynamic payment QR with today's amount, as SVG."""
    return await bill_qr(request, "svg")


async def bill_qr_png(request: Request) -> Response:
    """The bill's dynamic payment QR with today's amount, as PNG."""
    return await bill_qr(request, "png")


def render_pdf(bill: Bill, biller: Biller, config: Config) -> bytes:
    """The e-bill as printed (its QR carries the printed amount)."""
    from qrpay.ebill import render_bill

    return render_bill(bill, biller, config, howto=howto).pdf


async def bill_pdf(request: Request) -> Response:
    """The e-bill as PDF (rendered on demand)."""
    found = load_with_token(request)
    if found is None:
        raise NotFound("no such bill", code="unknown_bill")
    config: Config = request.app.state.config
    pdf = await run_in_threadpool(render_pdf, found.bill, found.biller, config)
    headers = dict(PRIVATE)
    headers["Content-Disposition"] = f'inline; filename="bill-{found.bill.bill_no}.pdf"'
    return Response(pdf, media_type="application/pdf", headers=headers)


def render_receipt(store: Any, config: Config, receipt_no: str) -> bytes:
    """A receipt of the bill (online or counter) as the desk prints it."""
    from qrpay.desk.counter import receipt_view
    from qrpay.desk.receipt import paid_at_text, receipt_pdf

    with store.connect() as conn:
        r = receipt_view(conn, config, receipt_no)
    return receipt_pdf(r, paid_at_text(r))


async def bill_receipt_pdf(request: Request) -> Response:
    """The receipt PDF of a payment on this bill (the bill's token opens it; only
    receipts still in force, as the bill page lists them)."""
    found = load_with_token(request)
    receipt_no = to_ascii(request.path_params["receipt_no"]).strip().upper()[:60]
    if found is None or receipt_no not in found.status.receipts:
        raise NotFound("no such receipt", code="unknown_receipt")
    pdf = await run_in_threadpool(render_receipt, request.app.state.store,
                                  request.app.state.config, receipt_no)
    headers = dict(PRIVATE)
    headers["Content-Disposition"] = f'inline; filename="receipt-{receipt_no}.pdf"'
    return Response(pdf, media_type="application/pdf", headers=headers)


def render_error_page(request: Request, status: int, code: str) -> str:
    config: Config | None = getattr(request.app.state, "config", None)
    lang = neutral_language(request, config) if config else "en"
    helplines = ([b.helpline for b in config.billers.values() if b.helpline]
                 if config else [])
    return template("web/error.html").render(
        lang=lang, t=texts("web", lang), status=status, code=code,
        helplines=list(dict.fromkeys(helplines)))


ROUTES = [
    Route("/b/{bill_no}", bill_page, methods=["GET"]),
    Route("/B/{bill_no}/{token}", qr_link, methods=["GET"]),
    Route("/b/{bill_no}/qr.svg", bill_qr_svg, methods=["GET"]),
    Route("/b/{bill_no}/qr.png", bill_qr_png, methods=["GET"]),
    Route("/b/{bill_no}/bill.pdf", bill_pdf, methods=["GET"]),
    Route("/b/{bill_no}/receipt/{receipt_no}.pdf", bill_receipt_pdf, methods=["GET"]),
]
