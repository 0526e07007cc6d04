"""The bill importer's columnar path: a CSV chunk checked with vectorised expressions.

:mod:`qrpay.importer` holds the rules and words every error.  Here a chunk of CSV lines is
read into a polars frame of text columns, and every rule is checked for the whole column at
once, but only in its ordinary form: a value in any other form (native digits, grouping,
a stray space, anything an error would name) makes its row *unusual*, and unusual rows go
through the importer's own per-row checks.  Values that repeat (billers, periods, dates,
tariffs...) are checked by the importer's own functions, once per distinct value.  The
stored row and its content hash are built from the columns; the hash is the same SHA-256 of
the same JSON as :func:`qrpay.importer.content_hash` (tests/test_import_columns.py holds
both paths to the same rows, hashes and errors).

Amounts are integers of minor units throughout: ``1234.50`` becomes ``123450`` by dropping
the point from a canonical two-decimal text; nothing is parsed as a float.
"""

from __future__ import annotations

import functools
import io
import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import polars_hash as plh

from qrpay import importer as rules
from qrpay.bills import AREAS, CATEGORIES
from qrpay.config import LANGUAGES, Config
from qrpay.errors import QrpayError, ValidationError
from qrpay.ids import mobile as mobile_scheme
from qrpay.money import MAX_AMOUNT

# Text that JSON writes as itself and Python's str.split()/strip() leave alone: words with
# single spaces between them, no other whitespace, no control character, no quote or
# backslash.  (Tested as "none of these", which compiles small; a class of everything
# else would be a large automaton over all of Unicode.)
_NOT_IN_WORDS = r'[[\s\p{Cc}\p{Z}"\\]--[ ]]'


def words(text: pl.Expr) -> pl.Expr:
    """Whether ``text`` is such words (and not empty)."""
    return ((text != "") & ~text.str.contains(_NOT_IN_WORDS)
            & ~text.str.contains("  ", literal=True) & ~text.str.starts_with(" ")
            & ~text.str.ends_with(" "))


# A two-decimal amount written the way to_decimal_str writes it (so its text is its JSON).
_AMOUNT = r"(?:0\.[0-9]{2}|[1-9][0-9]{0,10}\.[0-9]{2}|-0\.(?:0[1-9]|[1-9][0-9])" \
          r"|-[1-9][0-9]{0,10}\.[0-9]{2})"
_CHARGE = r"-?[1-9][0-9]{0,10}\.[0-9]{2}"  # a charge of one or more (or minus that)
_INT = r"(?:0|[1-9][0-9]{0,17})"
_HEAD = r"[a-z_]+"  # sorts as "head=value" text the way the heads sort alone
_BILL_NO = r"^[A-Za-z0-9_]{4,35}$"
_METER = r'^[!#-\[\]-~]{1,40}$'  # printable ASCII without space, quote, backslash

#: the columns of the stored bill row this path builds (``bills`` less ids and times)
STORED = ("bill_no", "biller", "account_no", "name", "period", "amount", "due_date",
          "late_amount", "arrears", "mobile", "category", "area", "units", "address",
          "language", "meter_no", "history", "charges", "details", "content_hash")
SCHEMA: dict[str, Any] = {c: pl.String for c in STORED} | {
    "amount": pl.Int64, "late_amount": pl.Int64, "arrears": pl.Int64, "units": pl.Int64,
    "line": pl.Int64}


_FIELD = r'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'


def plain_lines(width: int) -> str:
    """A regex for one CSV record of ``width`` fields on one line, every quote where
    RFC 4180 puts it: polars and the csv module read such a line alike."""
    return rf"^{_FIELD}(?:,{_FIELD}){{{width - 1}}}\r?$"


def plain_line(line: str) -> bool:
    """Whether ``line`` (without its line end) is such a record, of any width."""
    return re.fullmatch(rf"{_FIELD}(?:,{_FIELD})*", line) is not None


# ---------------------------------------------------------------------------- reading

def read_chunk(data: bytes, header: Sequence[str]) -> pl.DataFrame | None:
    """The chunk's records as text columns, or None when a line is not a plain one-line
    record of the header's width (or a row is blank): the caller then reads on with the
    csv module, which words what is wrong.  ``data`` is whole lines; not UTF-8, it raises
    UnicodeDecodeError (the caller names the line)."""
    lines = _lines(data)
    if lines is None:
        return None
    if not lines.str.contains(plain_lines(len(header))).all():
        return None
    df = pl.read_csv(io.BytesIO(data), has_header=False, new_columns=list(header),
                     infer_schema=False, empty_string_is_null=False, quote_char='"')
    if df.height != lines.len():
        return None
    if lines.str.contains(r'^[\s\p{Cc}\p{Z},"]*$').any():  # perhaps a blank row: look
        blank = pl.all_horizontal(pl.col(h).str.contains(r"^[\s\p{Cc}\p{Z}]*$")
                                  for h in header)
        if df.select(blank.any()).item():
            return None  # the csv module skips blank rows; let it
    return df


def _lines(data: bytes) -> pl.Series | None:
    """The lines of ``data`` as text (None when there are none), checked as UTF-8 by polars
    (not decoded into a Python string and copied back: a tenth of the reading thread's
    time); not UTF-8, the UnicodeDecodeError ``bytes.decode`` raises."""
    if not data.strip(b"\n"):
        return None
    try:
        text = pl.Series("line", [data], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        data.decode("utf-8")  # not UTF-8: raises, naming the byte (else polars' error)
        raise
    return text.str.strip_suffix("\n").str.split("\n").explode()


# ---------------------------------------------------------------------------- checking

@dataclass
class Checked:
    """A chunk checked: the stored rows of the ordinary rows, and the positions of the
    unusual ones (for the per-row checks)."""

    stored: pl.DataFrame
    unusual: list[int]


class ColumnChecks:
    """The importer's rules as column expressions, for one import (memoised per value)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.memo: dict[tuple[str, str], Any] = {}

    # -- values that repeat: the importer's own check, once per distinct value

    def _memo_text(self, df: pl.DataFrame, col: str, check: Callable[[str], Any],
                   render: Callable[[Any], str | None]) -> list[pl.Series]:
        """Three columns for ``col``: ``check`` of each distinct text (the importer's own
        function) rendered as text, whether it passed (a ValidationError makes the row
        unusual), and the value as JSON (null where it is None)."""
        s = df.get_column(col)
        values: dict[str, str | None] = {}
        oks: dict[str, bool] = {}
        jsons: dict[str, str | None] = {}
        for text in s.unique().to_list():
            key = (col, text)
            if key not in self.memo:
                try:
                    value = render(check(text))
                    self.memo[key] = (True, value, None if value is None
                                      else json.dumps(value, ensure_ascii=False))
                except (ValidationError, QrpayError):
                    self.memo[key] = (False, None, None)
            values[text], oks[text], jsons[text] = (self.memo[key][1], self.memo[key][0],
                                                    self.memo[key][2])
        return [s.replace_strict(values, return_dtype=pl.String).alias(col),
                s.replace_strict(oks, return_dtype=pl.Boolean).alias(col + "_ok"),
                s.replace_strict(jsons, return_dtype=pl.String).alias(f"_{col}_json")]

    def check(self, df: pl.DataFrame) -> Checked:
        r = rules
        for c in r.COLUMNS:
            if c not in df.columns:
                df = df.with_columns(pl.lit("", dtype=pl.String).alias(c))
        df = df.with_row_index("_pos")
        iso = _iso_or_none
        memo: dict[str, list[pl.Series]] = {
            "period": self._memo_text(df, "period", lambda t: r._period(
                r._required({"period": t}, "period")), str),
            "due_date": self._memo_text(df, "due_date", lambda t: r._date(
                r._required({"due_date": t}, "due_date"), "due_date"), iso),
            "category": self._memo_text(df, "category", lambda t: r._choice(
                {"category": t}, "category", CATEGORIES, "unknown_category"), _same),
            "area": self._memo_text(df, "area", lambda t: r._choice(
                {"area": t}, "area", AREAS, "unknown_area"), _same),
            "language": self._memo_text(df, "language", lambda t: r._choice(
                {"language": t}, "language", LANGUAGES, "unknown_language"), _same),
            "tariff": self._memo_text(df, "tariff", lambda t: r._short_text(
                {"tariff": t}, "tariff"), _same),
            "sanctioned_load": self._memo_text(df, "sanctioned_load", lambda t: r._load(
                {"sanctioned_load": t}), _same),
        }
        for key in ("bill_date", "last_payment_date", "previous_reading_date",
                    "present_reading_date"):
            memo[key] = self._memo_text(df, key, _date_check(key), iso)
        billers = self._billers(df)
        memo_ok = functools.reduce(operator.and_, (trio[1] for trio in memo.values()))
        cols = [trio[0] for trio in memo.values()]
        cols += [memo[k][2] for k in ("category", "area", "language", "tariff",
                                      "sanctioned_load")]
        df = df.with_columns(*cols, memo_ok.alias("_memo_ok"), *billers)
        df = df.with_columns(_expressions(self.config))
        df = self._late(df)
        ok = df.get_column("_ok")
        unusual = df.filter(~ok).get_column("_pos").to_list()
        good = df.filter(ok).select(_KEEP).with_columns(json_values())
        good = good.with_columns(_hash_json().alias("_hash"), _details().alias("details"))
        good = good.with_columns(plh.col("_hash").chash.sha2_256().alias("content_hash"))
        stored = good.select(
            pl.col("_bill_no").alias("bill_no"), pl.col("_biller").alias("biller"),
            pl.col("account_no"), pl.col("name"), pl.col("period"),
            pl.col("_amount").alias("amount"), pl.col("due_date"),
            pl.col("_late").alias("late_amount"), pl.col("_arrears").alias("arrears"),
            pl.col("_mobile").alias("mobile"), pl.col("category"), pl.col("area"),
            pl.col("_units").alias("units"), pl.col("_address").alias("address"),
            pl.col("language"), pl.col("_meter").alias("meter_no"),
            pl.col("_history").alias("history"), pl.col("_charges").alias("charges"),
            pl.col("details"), pl.col("content_hash"),
            pl.col("_pos").cast(pl.Int64).alias("line"))
        return Checked(stored, unusual)

    def _billers(self, df: pl.DataFrame) -> list[pl.Series]:
        """The biller of each row (by the importer's _biller) and the parts of it the
        rules need, as columns."""
        r = rules
        s = df.get_column("biller")
        attrs: dict[str, dict[str, Any]] = {k: {} for k in (
            "_biller", "_biller_ok", "_country", "_scheme", "_acc_len", "_acc_prefix",
            "_bill_prefix", "_late_kind", "_biller_json")}
        for text in s.unique().to_list():
            try:
                b = r._biller({"biller": text}, self.config)
                ok = True
            except (ValidationError, QrpayError):
                b, ok = None, False
            n = b.numbering if b else None
            attrs["_biller"][text] = b.code if b else None
            attrs["_biller_ok"][text] = ok
            attrs["_country"][text] = b.country if b else None
            attrs["_scheme"][text] = n.scheme if n else None
            attrs["_acc_len"][text] = n.length if n else None
            attrs["_acc_prefix"][text] = n.prefix if n else None
            attrs["_bill_prefix"][text] = n.bill_prefix if n else None
            attrs["_late_kind"][text] = b.late_payment.kind if b else None
            attrs["_biller_json"][text] = json.dumps(b.code, ensure_ascii=False) if b else None
        types = {"_biller_ok": pl.Boolean, "_acc_len": pl.Int64}
        return [s.replace_strict(m, return_dtype=types.get(k, pl.String)).alias(k)
                for k, m in attrs.items()]

    def _late(self, df: pl.DataFrame) -> pl.DataFrame:
        """late_amount: the file's, or the biller's late fee on the amount (the profile's
        own function, once per distinct biller and amount)."""
        need = df.filter(pl.col("_ok") & (pl.col("late_amount") == "")
                         & (pl.col("_late_kind") != "none"))
        pairs = need.select("_biller", "_amount").unique()
        fees: dict[tuple[str, int], int] = {}
        for code, amount in pairs.iter_rows():
            fees[(code, amount)] = self.config.biller(code).late_payment.late_amount(amount)
        key = pl.concat_str([pl.col("_biller"), pl.col("_amount").cast(pl.String)],
                            separator="|")
        fee_map = {f"{c}|{a}": v for (c, a), v in fees.items()}
        computed = key.replace_strict(fee_map, default=None, return_dtype=pl.Int64)
        given = pl.col("late_amount")
        late = (pl.when(given != "").then(_minor(given))
                .when(pl.col("_late_kind") != "none").then(computed)
                .otherwise(pl.lit(None, dtype=pl.Int64)))
        df = df.with_columns(late.alias("_late"))
        ok = (pl.col("_ok") & ((given == "") | given.str.contains(rf"^{_AMOUNT}$"))
              & (pl.col("_late").is_null() | (pl.col("_late") <= MAX_AMOUNT))
              & (pl.col("_late").is_null() | (pl.col("_late") >= pl.col("_amount"))))
        return df.with_columns(ok.fill_null(False).alias("_ok"))


def _date_check(key: str) -> Callable[[str], Any]:
    def check(text: str) -> Any:
        return rules._optional_date({key: text}, key)
    return check


def _same(value: Any) -> Any:
    return value


def _iso_or_none(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _minor(text: pl.Expr) -> pl.Expr:
    """A canonical two-decimal text in minor units (integers only: the point dropped)."""
    return text.str.replace(".", "", literal=True).cast(pl.Int64, strict=False)


def _plan_expr(country: str, text: pl.Expr) -> tuple[pl.Expr, pl.Expr] | None:
    plan = mobile_scheme.PLANS.get(country)
    if plan is None or not re.fullmatch(r"[\[\]0-9{}\-]+", plan.national.pattern):
        return None
    national = pl.when((text.str.len_bytes() == 11) & text.str.starts_with("0")) \
        .then(text.str.slice(1)).otherwise(text)
    ok = text.str.contains(r"^[0-9]+$") & national.str.contains(f"^{plan.national.pattern}$")
    return ok, pl.lit(f"+{plan.code}") + national


def _expressions(config: Config) -> list[pl.Expr]:
    """Every ordinary form and the value it stands for, in one with_columns."""
    c = pl.col
    countries = sorted({b.country for b in config.billers.values()})
    mobile_ok = pl.lit(False)
    mobile = pl.lit(None, dtype=pl.String)
    for country in countries:
        plan = _plan_expr(country, c("mobile"))
        if plan is not None:
            mobile_ok = pl.when(c("_country") == country).then(plan[0]).otherwise(mobile_ok)
            mobile = pl.when(c("_country") == country).then(plan[1]).otherwise(mobile)
    acc = c("account_no")
    account_ok = (
        ((c("_scheme") == "in") & acc.str.contains(r"^[0-9]+$")
         & (acc.str.len_bytes() == c("_acc_len")) & acc.str.starts_with(c("_acc_prefix")))
        | ((c("_scheme") == "bd") & acc.str.contains(r"^[0-9]{9}$")))
    amount_text = c("amount")
    units_text = c("units")
    prev, pres, mult = c("previous_reading"), c("present_reading"), c("multiplier")
    no_readings = (prev == "") & (pres == "")
    multiplier = pl.when(mult == "").then(1).otherwise(mult.cast(pl.Int64, strict=False))
    units = units_text.cast(pl.Int64, strict=False)
    reading_units = (pres.cast(pl.Int64, strict=False) - prev.cast(pl.Int64, strict=False)) \
        * multiplier
    readings_ok = pl.when(no_readings).then(
        (mult == "") & c("previous_reading_date").is_null()
        & c("present_reading_date").is_null()
    ).otherwise(
        prev.str.contains(r"^[0-9]{1,12}$") & pres.str.contains(r"^[0-9]{1,12}$")
        & ((mult == "") | mult.str.contains(r"^[0-9]{1,6}$")) & (multiplier >= 1)
        & (pres.cast(pl.Int64, strict=False) >= prev.cast(pl.Int64, strict=False))
        & (c("previous_reading_date").is_null() | c("present_reading_date").is_null()
           | (c("present_reading_date") >= c("previous_reading_date")))
        & ((units_text == "") | (units == reading_units)))
    charges_text = c("charges")
    heads = charges_text.str.extract_all(r"[a-z_]+=")
    charge_sum = charges_text.str.extract_all(r"-?[0-9]+\.[0-9]{2}").list.eval(
        _minor(pl.element())).list.sum()
    charges_ok = (charges_text == "") | (
        charges_text.str.contains(rf"^{_HEAD}={_CHARGE}(?:;{_HEAD}={_CHARGE})*$")
        & (heads.list.n_unique() == heads.list.len())
        & (charge_sum == _minor(amount_text)))
    history_text = c("history")
    bill_no_text = c("bill_no")
    derived = pl.concat_str([c("_bill_prefix"), c("period").str.slice(2, 2),
                             c("period").str.slice(5, 2), acc])
    ok = (
        c("_biller_ok") & account_ok
        & words(c("name")) & (c("name").str.len_chars() <= rules.MAX_NAME)
        & c("_memo_ok") & amount_text.str.contains(rf"^{_AMOUNT}$")
        & ((c("arrears") == "") | c("arrears").str.contains(rf"^{_AMOUNT}$"))
        & ((c("mobile") == "") | mobile_ok)
        & ((units_text == "") | units_text.str.contains(r"^[0-9]{1,9}$"))
        & ((c("address") == "") | words(c("address")))
        & ((c("meter_no") == "") | c("meter_no").str.contains(_METER))
        & ((history_text == "") | history_text.str.contains(rf"^{_INT}(?:;{_INT}){{0,11}}$"))
        & charges_ok & readings_ok
        & ((c("last_payment") == "") | c("last_payment").str.contains(rf"^{_AMOUNT}$"))
        & ((bill_no_text == "") | ((c("_scheme") == "in")
                                   & bill_no_text.str.contains(_BILL_NO))))
    # stored: [["energy", 156156], ...] in file order, in minor units: every amount is
    # one or more (below one its text has a leading zero: unusual), so dropping the
    # point gives the integer's digits; then only literal replacements
    charge_json = pl.concat_str([pl.lit('[["'), charges_text.str.replace_all(".", "", literal=True)
                                 .str.replace_all("=", '", ', literal=True)
                                 .str.replace_all(";", '], ["', literal=True), pl.lit("]]")])
    # hashed: {"duty": "297.44", ...}, heads sorted (as json.dumps(sort_keys=True))
    charge_hash = pl.concat_str([pl.lit('{"'), charges_text.str.split(";").list.sort()
                                 .list.join('", "').str.replace_all("=", '": "', literal=True),
                                 pl.lit('"}')])
    null_s = pl.lit(None, dtype=pl.String)
    return [
        ok.fill_null(False).alias("_ok"),
        _minor(amount_text).alias("_amount"),
        pl.when(c("arrears") == "").then(0).otherwise(_minor(c("arrears"))).alias("_arrears"),
        pl.when(c("arrears") == "").then(pl.lit("0.00")).otherwise(c("arrears"))
        .alias("_arrears_text"),
        pl.when(c("mobile") == "").then(null_s).otherwise(mobile).alias("_mobile"),
        pl.when(units_text == "").then(None).otherwise(units).alias("_units"),
        pl.when(c("address") == "").then(null_s).otherwise(c("address")).alias("_address"),
        pl.when(c("meter_no") == "").then(null_s).otherwise(c("meter_no")).alias("_meter"),
        pl.when(history_text == "").then(null_s)
        .otherwise(pl.lit("[") + history_text.str.replace_all(";", ", ", literal=True)
                   + pl.lit("]")).alias("_history"),
        pl.when(charges_text == "").then(null_s)
        .otherwise(charge_json).alias("_charges"),
        pl.when(charges_text == "").then(pl.lit("{}"))
        .otherwise(charge_hash).alias("_charges_hash"),
        pl.when(bill_no_text == "").then(derived).otherwise(bill_no_text).alias("_bill_no"),
        pl.when(no_readings).then(None).otherwise(prev.cast(pl.Int64, strict=False))
        .alias("_prev"),
        pl.when(no_readings).then(None).otherwise(pres.cast(pl.Int64, strict=False))
        .alias("_pres"),
        pl.when(no_readings).then(None).otherwise(multiplier).alias("_mult"),
        pl.when(c("last_payment") == "").then(None).otherwise(_minor(c("last_payment")))
        .alias("_last_payment"),
    ]


def _q(e: pl.Expr) -> pl.Expr:
    """A JSON string of text that needs no escaping (checked above); null stays null."""
    return pl.concat_str([pl.lit('"'), e, pl.lit('"')])


def _or_null(e: pl.Expr) -> pl.Expr:
    return e.fill_null("null")


def _jamount(e: pl.Expr) -> pl.Expr:
    """An amount in minor units as to_decimal_str writes it, quoted; null stays null."""
    a = e.abs()
    return pl.concat_str([pl.lit('"'), pl.when(e < 0).then(pl.lit("-")).otherwise(pl.lit("")),
                          (a // 100).cast(pl.String), pl.lit("."),
                          (a % 100).cast(pl.String).str.zfill(2), pl.lit('"')])


#: the columns the stored row and its JSON texts are built from (the rest of a checked
#: chunk is let go before they are)
_KEEP = ("_pos", "_bill_no", "_biller", "_biller_json", "account_no", "name", "period",
         "_amount", "due_date", "_late", "_arrears", "_arrears_text", "_mobile", "category",
         "_category_json", "area", "_area_json", "_units", "_address", "language",
         "_language_json", "_meter", "_history", "_charges", "_charges_hash", "bill_date",
         "tariff", "_tariff_json", "sanctioned_load", "_sanctioned_load_json",
         "_last_payment", "last_payment_date", "_prev", "_pres", "previous_reading_date",
         "present_reading_date", "_mult")
#: as_dict's keys whose JSON is text the checks above leave needing no escape: the column
#: itself goes between literal quotes
_PLAIN = {"bill_no": "_bill_no", "account_no": "account_no", "name": "name",
          "period": "period", "due_date": "due_date", "arrears": "_arrears_text"}
#: details_dict's keys (in its order): left out of both JSON texts when null
DETAILS_ORDER = ("bill_date", "tariff", "sanctioned_load", "last_payment",
                 "last_payment_date", "previous_reading", "present_reading",
                 "previous_reading_date", "present_reading_date", "multiplier")


def _values() -> dict[str, pl.Expr]:
    """The JSON of as_dict's other values (null: a details key left out)."""
    c = pl.col
    return {
        "biller": c("_biller_json"), "amount": _jamount(c("_amount")),
        "late_amount": _or_null(_jamount(c("_late"))), "mobile": _or_null(_q(c("_mobile"))),
        "category": _or_null(c("_category_json")), "area": _or_null(c("_area_json")),
        "units": _or_null(c("_units").cast(pl.String)), "address": _or_null(_q(c("_address"))),
        "language": _or_null(c("_language_json")), "meter_no": _or_null(_q(c("_meter"))),
        "history": c("_history").fill_null("[]"), "charges": c("_charges_hash"),
        "bill_date": _q(c("bill_date")), "tariff": c("_tariff_json"),
        "sanctioned_load": c("_sanctioned_load_json"),
        "last_payment": _jamount(c("_last_payment")),
        "last_payment_date": _q(c("last_payment_date")),
        "previous_reading": c("_prev").cast(pl.String),
        "present_reading": c("_pres").cast(pl.String),
        "previous_reading_date": _q(c("previous_reading_date")),
        "present_reading_date": _q(c("present_reading_date")),
        "multiplier": c("_mult").cast(pl.String),
    }


def json_values() -> list[pl.Expr]:
    """The ``_j_<key>`` columns _hash_json and _details put together."""
    return [e.alias(f"_j_{k}") for k, e in _values().items()]


def _hash_json() -> pl.Expr:
    """json.dumps(bill.as_dict(), sort_keys=True, ensure_ascii=False), as one flat
    concatenation (no intermediate strings)."""
    keys = sorted([*_PLAIN, *_values()])
    parts: list[pl.Expr] = []
    text = "{"
    for k in keys:
        if k in DETAILS_ORDER:
            parts.append(pl.lit(text))
            parts.append(pl.concat_str([pl.lit(f', "{k}": '), pl.col(f"_j_{k}")]))
            text = ""
            continue
        text += ("" if text == "{" else ", ") + f'"{k}": '
        if k in _PLAIN:
            parts += [pl.lit(text + '"'), pl.col(_PLAIN[k])]
            text = '"'
        else:
            parts += [pl.lit(text), pl.col(f"_j_{k}")]
            text = ""
    parts.append(pl.lit(text + "}"))
    return pl.concat_str(parts, ignore_nulls=True)


def _details() -> pl.Expr:
    """json.dumps(details_dict(bill), ensure_ascii=False), or null when it is empty."""
    parts = [pl.concat_str([pl.lit(f'"{k}": '), pl.col(f"_j_{k}")]) for k in DETAILS_ORDER]
    body = pl.concat_str(parts, separator=", ", ignore_nulls=True)
    return pl.when(body == "").then(pl.lit(None, dtype=pl.String)) \
        .otherwise(pl.concat_str([pl.lit("{"), body, pl.lit("}")]))
