"""Admin pages for supervisors and admins, behind the desk's login (the desk's session
cookie is scoped to ``/desk``, so the pages live under ``/desk/admin``; ``/admin`` and
``/admin/recon`` redirect there):

* ``/desk/admin``: today's and the month's collections by channel, the daily chart and
  the digital-share gauge (SVG), open exceptions, recent render cycles; filters (biller,
  month) and the same exports as the CLI (CSV, XLSX, PDF);
* ``/desk/admin/recon``: the exceptions queue, each with its bill, payment, file line and
  suggested action, and the actions (post, refund, write off, link), audited.

The use cases are below the web layer (:mod:`qrpay.reports`, :mod:`qrpay.recon.queue`);
this module holds forms, parameters and routes.  A cashier gets the desk's 403 page.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from qrpay.config import Biller, Config
from qrpay.desk.sessions import DeskSession
from qrpay.digits import localise
from qrpay.errors import ValidationError
from qrpay.money import group_indian
from qrpay.reports.labels import LANGS, WORDS, numerals_for
from qrpay.store import Store
from qrpay.store.schema import payments, recon_files, render_jobs
from qrpay.templating import env, texts
from qrpay.web import auth
from qrpay.web.desk import HEADERS, LANG_COOKIE, LANGUAGES, staff_page

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
CHARTS = ("per_day", "share", "digital_vs_target")
SVG_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy":
               "default-src 'none'; style-src 'unsafe-inline'", "X-Content-Type-Options":
               "nosniff"}
EXPORTS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "pdf": "application/pdf"}


# ------------------------------------------------------------------------ parameters

def _config(request: Request) -> Config:
    return request.app.state.config  # type: ignore[no-any-return]


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _lang(request: Request, biller: Biller) -> str:
    for code in (request.query_params.get("lang", ""), request.cookies.get(LANG_COOKIE, "")):
        if code in LANGS:
            return code
    return next((c for c in biller.languages if c in LANGS), "en")


def _biller(request: Request, sess: DeskSession) -> Biller:
    config = _config(request)
    asked = request.query_params.get("biller") or sess.staff.biller
    if sess.staff.role != "admin" and sess.staff.biller:
        asked = sess.staff.biller  # a supervisor sees their own biller only
    return config.biller(asked if asked in config.billers else None)


def _period(request: Request, biller: Biller) -> str:
    period = request.query_params.get("period") or biller.today().strftime("%Y-%m")
    if not _PERIOD.match(period):
        raise ValidationError(f"period {period!r} is not YYYY-MM", code="invalid_period",
                              field="period")
    return period


def _read(store: Store, fn: Any, *args: Any) -> Any:
    with store.connect() as conn:
        return fn(conn, *args)


def _page(request: Request, sess: DeskSession, name: str, lang: str, **context: Any
          ) -> HTMLResponse:
    numerals = numerals_for(lang)
    html = env().get_template(f"admin/{name}").render(
        t=texts("desk", lang), w=WORDS[lang], a=texts("admin", lang), lang=lang,
        languages=LANGUAGES, sess=sess,
        numerals=numerals, num=lambda n: localise(group_indian(int(n)), numerals),
        digits=lambda text: localise(str(text), numerals),
        biller=_config(request).billers.get(sess.staff.biller or ""), **context)
    return HTMLResponse(html, headers=HEADERS)


# ------------------------------------------------------------------------ dashboard

def _dashboard(conn: Connection, config: Config, biller: Biller, period: str,
               lang: str) -> dict[str, Any]:
    from qrpay.recon.queue import count_open
    from qrpay.reports.collections import Source, collections
    from qrpay.reports.output import key_label

    today = biller.today()
    month = collections(conn, config, period, by="channel", biller=biller.code)
    today_rows = Source(conn, config, (biller.code,), today, today).group(("channel",))
    names = {n: c.display_name or n for n, c in config.channels.items()}
    names["counter"] = WORDS[lang]["counter"]
    return {
        "month": month, "names": names, "key_label": key_label,
        "today": sorted(((ch, f) for (ch,), f in today_rows.items()),
                        key=lambda kv: -kv[1].amount),
        "today_date": today, "open": count_open(conn),
        "cycles": conn.execute(select(render_jobs).order_by(render_jobs.c.id.desc())
                               .limit(8)).fetchall(),
        "files": conn.execute(select(recon_files).order_by(recon_files.c.id.desc())
                              .limit(5)).fetchall(),
    }


@staff_page("supervisor")
async def dashboard(request: Request, sess: DeskSession) -> Response:
    from qrpay.reports import rollup

    config, store = _config(request), _store(request)
    biller = _biller(request, sess)
    lang, period = _lang(request, biller), _period(request, biller)
    await run_in_threadpool(rollup.catch_up, store, config)
    data = await run_in_threadpool(_read, store, _dashboard, config, biller, period, lang)
    query = f"biller={biller.code}&period={period}&lang={lang}"
    return _page(request, sess, "index.html", lang, shown=biller, period=period,
                 query=query, billers=list(config.billers.values()),
                 staff_biller=sess.staff.biller if sess.staff.role != "admin" else None,
                 **data)


def _chart_svg(conn: Connection, config: Config, biller: Biller, period: str, kind: str,
               lang: str) -> str:
    from qrpay.reports import charts
    from qrpay.reports.collections import collections

    report = collections(conn, config, period, by="channel", biller=biller.code)
    fig = charts.collections_chart(report, kind, lang, charts.channel_names(config, lang))
    return charts.to_svg(fig)


@staff_page("supervisor")
async def chart(request: Request, sess: DeskSession) -> Response:
    kind = request.path_params["kind"]
    if kind not in CHARTS:
        raise ValidationError(f"no chart {kind!r}", code="unknown_chart", field="kind")
    biller = _biller(request, sess)
    lang, period = _lang(request, biller), _period(request, biller)
    svg = await run_in_threadpool(_read, _store(request), _chart_svg, _config(request),
                                  biller, period, kind, lang)
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


def _export(conn: Connection, config: Config, biller: Biller, period: str, by: str,
            kind: str, lang: str) -> bytes:
    import io

    from qrpay.reports import output, pdf
    from qrpay.reports.collections import collections

    report = collections(conn, config, period, by=by, biller=biller.code)
    if kind == "pdf":
        return pdf.monthly_pdf(pdf.MonthData.load(conn, config, report), lang)
    table = output.collections_table(report, lang)
    if kind == "csv":
        return output.to_csv(table, lang).encode("utf-8")
    buf = io.BytesIO()
    output.to_xlsx(table, buf, lang)
    return buf.getvalue()


@staff_page("supervisor")
async def export(request: Request, sess: DeskSession) -> Response:
    from qrpay.reports.collections import BY

    kind = request.path_params["kind"]
    by = request.query_params.get("by", "mode")
    if kind not in EXPORTS or by not in BY:
        raise ValidationError("unknown export", code="unknown_export", field="kind")
    biller = _biller(request, sess)
    lang, period = _lang(request, biller), _period(request, biller)
    body = await run_in_threadpool(_read, _store(request), _export, _config(request), biller,
                                   period, by, kind, lang)
    name = f"collections-{biller.code}-{period}-{by}.{kind}"
    return Response(body, media_type=EXPORTS[kind], headers={
        "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'})


# ------------------------------------------------------------------------ exceptions

def _queue(conn: Connection, outcome: str | None) -> dict[str, Any]:
    from qrpay.recon.queue import count_open, list_exceptions, refunds_list

    items = list_exceptions(conn, outcome=outcome or None, limit=200)
    ids = [i.payment_id for i in items if i.payment_id]
    pays = {r.id: r for r in conn.execute(select(
        payments.c.id, payments.c.receipt_no, payments.c.status, payments.c.amount)
        .where(payments.c.id.in_(ids)))} if ids else {}
    return {"items": items, "payments": pays, "open": count_open(conn),
            "closed": list_exceptions(conn, state="closed", limit=20),
            "refunds": refunds_list(conn)[:100]}


@staff_page("supervisor")
async def recon_page(request: Request, sess: DeskSession) -> Response:
    biller = _biller(request, sess)
    lang = _lang(request, biller)
    outcome = request.query_params.get("outcome", "")
    data = await run_in_threadpool(_read, _store(request), _queue, outcome)
    return _page(request, sess, "recon.html", lang, outcome=outcome,
                 done=request.query_params.get("done", ""), **data)


def _act(store: Store, config: Config, exc_id: int, action: str, actor: str, reason: str,
         bill_no: str | None, remote: str | None) -> str:
    from qrpay.recon.queue import act

    with store.begin() as conn:
        return act(conn, config, exc_id, action, actor=actor, reason=reason, bill_no=bill_no,
                   remote=remote)


@staff_page("supervisor")
async def recon_action(request: Request, sess: DeskSession) -> Response:
    from urllib.parse import quote

    form = await auth.read_form(request)
    exc_id = int(request.path_params["exc_id"])
    bill = str(form.get("bill_no") or "").strip() or None
    done = await run_in_threadpool(_act, _store(request), _config(request), exc_id,
                                   str(form.get("action") or ""), sess.staff.username,
                                   str(form.get("reason") or ""), bill,
                                   request.client.host if request.client else None)
    return RedirectResponse(f"/desk/admin/recon?done={quote(f'{exc_id}: {done}')}",
                            status_code=303, headers={"Cache-Control": "no-store"})


async def to_desk(request: Request) -> Response:
    target = "/desk/admin" + request.url.path.removeprefix("/admin")
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(target + query, status_code=303)


ROUTES = [
    Route("/admin", to_desk, methods=["GET"]),
    Route("/admin/recon", to_desk, methods=["GET"]),
    Route("/desk/admin", dashboard, methods=["GET"]),
    Route("/desk/admin/chart/{kind}.svg", chart, methods=["GET"]),
    Route("/desk/admin/export.{kind}", export, methods=["GET"]),
    Route("/desk/admin/recon", recon_page, methods=["GET"]),
    Route("/desk/admin/recon/{exc_id:int}", recon_action, methods=["POST"]),
]
# (method, path, minimum role) of every admin route, for the access tests
PROTECTED = tuple((m, r.path, r.endpoint.minimum_role) for r in ROUTES  # type: ignore
                  for m in (r.methods or ()) if m != "HEAD"
                  and hasattr(r.endpoint, "minimum_role"))

