"""Bill import: CSV (UTF-8, with or without BOM) and JSON Lines, all or nothing.

The file is read once, in chunks, in bounded memory (a bill number seen twice is found
in the database, where this import's own rows carry its ``import_id`` and the others it met
sit in a temporary table).  A CSV file is checked as columns (:mod:`qrpay.importer_columns`)
while its lines are plain one-line records; rows in any unusual form, and every row of a
JSON Lines file, go through the per-row checks here, which alone word the errors.  Valid
rows are written per chunk inside one transaction (PostgreSQL ``COPY``, SQLite one
``executemany``; a thread reads, checks and encodes the next chunk meanwhile, and on SQLite
a big import into a smaller table builds its plain indexes at the end); the whole file is
checked (so duplicates and conflicts are reported beside bad values, in file order, up to
``max_errors`` errors), and on any error the transaction is rolled back: one bad row means
nothing is written.
Re-importing the same file changes nothing; the same bill number with different content is
a conflict unless ``replace``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import queue
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Table, insert, update

from qrpay.bills import AREAS, CATEGORIES, Bill, Readings, details_dict
from qrpay.config import LANGUAGES, Biller, Config
from qrpay.digits import to_ascii
from qrpay.errors import ImportError_, QrpayError, ValidationError
from qrpay.ids import mobile as mobile_scheme
from qrpay.money import MAX_AMOUNT, parse_amount
from qrpay.payments.ledger import adjust_bill
from qrpay.store import Store, utcnow
from qrpay.store.schema import bills as bills_t
from qrpay.store.schema import imports as imports_t
from qrpay.store.schema import ledger as ledger_t

REQUIRED = ("account_no", "name", "period", "amount", "due_date")
OPTIONAL: tuple[str, ...] = (
    "bill_no", "biller", "mobile", "category", "area", "units", "late_amount", "arrears",
    "address", "language", "meter_no", "history", "charges")
#: optional columns printed on the e-bill when present (``qrpay.bills.details_dict``)
PRINT_COLUMNS = ("bill_date", "tariff", "sanctioned_load", "previous_reading",
                 "previous_reading_date", "present_reading", "present_reading_date",
                 "multiplier", "last_payment", "last_payment_date")
OPTIONAL += PRINT_COLUMNS
COLUMNS = REQUIRED + OPTIONAL
MAX_NAME = 300
_TR_SAFE = re.compile(r"^[A-Za-z0-9_-]{4,35}$")


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    dry_run: bool = False
    errors: list[ImportError_] = field(default_factory=list)
    more_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "rows": self.rows, "created": self.created,
            "replaced": self.replaced, "unchanged": self.unchanged, "dry_run": self.dry_run,
            "ok": self.ok,
            "errors": [{"row": e.row, "column": e.column, "code": e.code, "message": e.message}
                       for e in self.errors],
            "more_errors": self.more_errors,
        }


# ---------------------------------------------------------------------------- reading

def _records(path: Path, text: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (row number, raw record).  CSV rows count from 2 (row 1 is the header)."""
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        for n, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise ImportError_(f"not valid JSON: {exc.msg}", code="bad_json",
                                   file=str(path), row=n) from None
            if not isinstance(obj, dict):
                raise ImportError_("each line must be a JSON object", code="bad_json",
                                   file=str(path), row=n)
            yield n, obj
        return
    reader = csv.reader(text)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportError_("the file is empty", code="empty_file", file=str(path)) from None
    except csv.Error as exc:
        raise ImportError_(f"bad CSV: {exc}", code="bad_csv", file=str(path), row=1) from None
    _check_header(header, path)
    yield from _csv_rows(path, reader, header, 0)


def _csv_rows(path: Path, source: IO[str] | Any, header: list[str], lines_before: int
              ) -> Iterator[tuple[int, dict[str, Any]]]:
    """The CSV records of ``source`` (a text file, or a csv reader already past the
    header), numbered by physical line; ``lines_before`` lines came before it."""
    reader = source if hasattr(source, "line_num") else csv.reader(source)
    width = len(header)
    try:
        for row in reader:
            n = lines_before + reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != width:
                raise ImportError_(f"row has {len(row)} fields, the header has {width}",
                                   code="wrong_field_count", file=str(path), row=n)
            yield n, dict(zip(header, row, strict=True))
    except csv.Error as exc:
        raise ImportError_(f"bad CSV: {exc}", code="bad_csv", file=str(path),
                           row=lines_before + reader.line_num) from None


def _check_header(header: list[str], path: Path) -> None:
    seen = set()
    for h in header:
        if h in seen:
            raise ImportError_(f"column {h!r} appears twice", code="duplicate_column",
                               file=str(path), row=1, column=h)
        seen.add(h)
        if h not in COLUMNS:
            raise ImportError_(f"unknown column {h!r}; known: {', '.join(COLUMNS)}",
                               code="unknown_column", file=str(path), row=1, column=h)
    for r in REQUIRED:
        if r not in seen:
            raise ImportError_(f"required column {r!r} is missing", code="missing_column",
                               file=str(path), row=1, column=r)


# ---------------------------------------------------------------------------- one row

def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise ValidationError(f"{key} must be text", code="invalid_type", field=key)
    return str(value).strip()


def _required(raw: dict[str, Any], key: str) -> str:
    value = _text(raw, key)
    if not value:
        raise ValidationError(f"{key} is required", code="missing_value", field=key)
    return value


def _period(text: str) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{2})", to_ascii(text))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValidationError(f"period {text!r} is not YYYY-MM", code="invalid_period",
                              field="period")
    return m.group(0)


def _date(text: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(to_ascii(text))
    except ValueError:
        raise ValidationError(f"{key} {text!r} is not a date YYYY-MM-DD", code="invalid_date",
                              field=key) from None


def _amount(raw: dict[str, Any], key: str, *, required: bool = False) -> int | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{key} is required", code="missing_value", field=key)
        return None
    if not isinstance(value, str):  # a JSON number: rupees or paise? refused, as callbacks do
        raise ValidationError(f"{key} must be a decimal string such as \"1234.50\", not "
                              f"a bare {type(value).__name__}", code="invalid_amount",
                              field=key)
    return parse_amount(value, field=key)


def _int(text: str, key: str) -> int:
    t = to_ascii(text).replace(",", "")
    if not (t.isascii() and t.isdigit()):  # "²".isdigit() is True, int("²") fails
        raise ValidationError(f"{key} {text!r} is not a whole number", code="invalid_number",
                              field=key)
    return int(t)


def normalise_mobile(text: str, country: str) -> str:
    """A bill file's mobile number in E.164 (``+919812345678``, ``+8801712345678``): the
    one scheme of :mod:`qrpay.ids.mobile`; refused as ``invalid_mobile`` (the scheme's
    own code in ``data["reason"]``)."""
    try:
        return mobile_scheme.validate(text, country)
    except ValidationError as exc:
        raise ValidationError(f"mobile {text!r} is not a valid {country} mobile number: "
                              f"{exc.message}", code="invalid_mobile", field="mobile",
                              reason=exc.code) from None


def _charges(text: str, amount: int) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        head, sep, value = part.partition("=")
        head = head.strip().lower()
        if not sep or not head:
            raise ValidationError(f"charges part {part!r} is not head=amount",
                                  code="invalid_charges", field="charges")
        if any(h == head for h, _ in out):
            raise ValidationError(f"charge head {head!r} appears twice",
                                  code="invalid_charges", field="charges")
        out.append((head, parse_amount(value, field="charges")))
    total = sum(v for _, v in out)
    if out and total != amount:
        raise ValidationError(f"charges add up to {total / 100:.2f}, the amount is "
                              f"{amount / 100:.2f}", code="charges_mismatch", field="charges")
    return tuple(out)


def _history(text: str) -> tuple[int, ...]:
    values = tuple(_int(v.strip(), "history") for v in text.split(";") if v.strip())
    if len(values) > 12:
        raise ValidationError(f"history has {len(values)} months, at most 12",
                              code="invalid_history", field="history")
    return values


def make_bill_no(biller: Biller, period: str, account_no: str) -> str:
    yymm = period[2:4] + period[5:7]
    return f"{biller.numbering.bill_prefix}{yymm}{account_no}"


def _account(biller: Biller, text: str) -> str:
    from qrpay import ids

    n = biller.numbering
    try:
        if n.scheme == "bd":
            return str(ids.get("bd_account").validate(text))
        return str(ids.get("in_consumer").validate(text, length=n.length, prefix=n.prefix))
    except ValidationError as exc:  # name the file's column, not the scheme's field
        raise ValidationError(exc.message, code=exc.code, field="account_no") from None


def _bill_no(biller: Biller, text: str, period: str, account_no: str) -> str:
    derived = make_bill_no(biller, period, account_no)
    if not text:
        return derived
    given = re.sub(r"[\s-]", "", to_ascii(text))
    if biller.numbering.scheme == "bd":
        from qrpay import ids

        try:
            given = ids.get("bd_bill").validate(given)
        except ValidationError as exc:
            raise ValidationError(exc.message, code=exc.code, field="bill_no") from None
        if given != derived:
            raise ValidationError(f"bill_no {text} does not match period {period} and account "
                                  f"{account_no} (expected {derived})",
                                  code="bill_no_mismatch", field="bill_no")
    elif not _TR_SAFE.match(given):
        raise ValidationError(f"bill_no {text!r} must be 4-35 characters of A-Z a-z 0-9 _ -",
                              code="invalid_bill_no", field="bill_no")
    return given


class _Collect:
    """Runs the checks of one row, keeping every ValidationError (not just the first)."""

    def __init__(self) -> None:
        self.errors: list[ValidationError] = []

    def __call__(self, check: Callable[..., Any], *args: Any) -> Any:
        try:
            return check(*args)
        except ValidationError as exc:
            self.errors.append(exc)
            return None

    def bad(self, *fields: str) -> bool:
        return any(e.field in fields for e in self.errors)


def _biller(raw: dict[str, Any], config: Config) -> Biller:
    biller_code = _text(raw, "biller")
    if not biller_code and len(config.billers) > 1:
        raise ValidationError("this deployment has several billers: the biller column is "
                              "required", code="missing_value", field="biller")
    try:
        return config.biller(biller_code or None)
    except QrpayError as exc:
        raise ValidationError(exc.message, code="unknown_biller", field="biller") from None


def _name(raw: dict[str, Any]) -> str:
    name = " ".join(_required(raw, "name").split())
    if len(name) > MAX_NAME:
        raise ValidationError(f"name is {len(name)} characters, at most {MAX_NAME}",
                              code="too_long", field="name")
    return name


def _late(raw: dict[str, Any], biller: Biller, amount: int | None) -> int | None:
    late = _amount(raw, "late_amount")
    if amount is None:
        return late
    if late is None and biller.late_payment.kind != "none":
        late = biller.late_payment.late_amount(amount)
        if late > MAX_AMOUNT:
            raise ValidationError(f"the late amount the profile's late fee gives ({late}) is "
                                  "larger than any amount qrpay takes", code="amount_too_large",
                                  field="late_amount")
    if late is not None and late < amount:
        raise ValidationError("late_amount is less than amount", code="late_below_amount",
                              field="late_amount")
    return late


def _choice(raw: dict[str, Any], key: str, allowed: Any, code: str) -> str | None:
    value = _text(raw, key).lower() or None
    if value and value not in allowed:
        raise ValidationError(f"{key} {value!r} is not one of {', '.join(sorted(allowed))}",
                              code=code, field=key)
    return value


def _meter_no(raw: dict[str, Any]) -> str | None:
    meter_no = re.sub(r"\s", "", to_ascii(_text(raw, "meter_no"))) or None
    if meter_no and len(meter_no) > 40:
        raise ValidationError("meter_no is longer than 40 characters", code="too_long",
                              field="meter_no")
    return meter_no


def _optional_date(raw: dict[str, Any], key: str) -> dt.date | None:
    text = _text(raw, key)
    return _date(text, key) if text else None


def _optional_int(raw: dict[str, Any], key: str) -> int | None:
    text = _text(raw, key)
    return _int(text, key) if text else None


def _short_text(raw: dict[str, Any], key: str, limit: int = 60) -> str | None:
    text = " ".join(_text(raw, key).split()) or None
    if text and len(text) > limit:
        raise ValidationError(f"{key} is {len(text)} characters, at most {limit}",
                              code="too_long", field=key)
    return text


def _load(raw: dict[str, Any]) -> str | None:
    """Sanctioned load in kW: a decimal with at most three decimals, as typed."""
    text = to_ascii(_text(raw, "sanctioned_load")).replace(",", "")
    if not text:
        return None
    if not re.fullmatch(r"\d{1,6}(\.\d{1,3})?", text) or Decimal(text) == 0:
        raise ValidationError(f"sanctioned_load {text!r} is not a load in kW (e.g. 2.5)",
                              code="invalid_load", field="sanctioned_load")
    return str(Decimal(text).normalize()) if "." in text else text


def _readings(raw: dict[str, Any], c: _Collect, units: int | None) -> Readings | None:
    previous = c(_optional_int, raw, "previous_reading")
    present = c(_optional_int, raw, "present_reading")
    multiplier = c(_optional_int, raw, "multiplier")
    dates = (c(_optional_date, raw, "previous_reading_date"),
             c(_optional_date, raw, "present_reading_date"))
    if c.bad("previous_reading", "present_reading", "multiplier"):
        return None
    if previous is None and present is None:
        if multiplier is not None or any(dates):
            c.errors.append(ValidationError("reading dates and multiplier need "
                                            "present_reading and previous_reading",
                                            code="missing_value", field="present_reading"))
        return None
    if previous is None or present is None:
        missing = "previous_reading" if previous is None else "present_reading"
        c.errors.append(ValidationError(f"{missing} is required with the other reading",
                                        code="missing_value", field=missing))
        return None
    readings = Readings(previous, present, dates[0], dates[1],
                        1 if multiplier is None else multiplier)
    c(_check_readings, readings, units)
    return readings


def _check_readings(r: Readings, units: int | None) -> None:
    if r.multiplier < 1:
        raise ValidationError("multiplier must be 1 or more", code="invalid_number",
                              field="multiplier")
    if r.present < r.previous:
        raise ValidationError(f"present_reading {r.present} is below previous_reading "
                              f"{r.previous}", code="reading_below_previous",
                              field="present_reading")
    if r.previous_date and r.present_date and r.present_date < r.previous_date:
        raise ValidationError("present_reading_date is before previous_reading_date",
                              code="invalid_date", field="present_reading_date")
    if units is not None and units != r.units:
        raise ValidationError(f"units {units} is not (present - previous) x multiplier = "
                              f"{r.units}", code="units_mismatch", field="units")


def parse_row_errors(raw: dict[str, Any], config: Config
                     ) -> tuple[Bill | None, list[ValidationError]]:
    """Validate one record: the :class:`Bill`, or None and *every* error of the row (each
    naming its field); checks that depend on a bad field are skipped."""
    c = _Collect()
    biller = c(_biller, raw, config)
    account_text = c(_required, raw, "account_no")
    account_no = c(_account, biller, account_text) if biller and account_text else None
    name = c(_name, raw)
    period_text = c(_required, raw, "period")
    period = c(_period, period_text) if period_text else None
    amount = c(lambda: _amount(raw, "amount", required=True))
    due_text = c(_required, raw, "due_date")
    due_date = c(_date, due_text, "due_date") if due_text else None
    late = c(_late, raw, biller, amount) if biller else None
    mobile = c(_text, raw, "mobile") or ""
    units_text = c(_text, raw, "units") or ""
    units = c(_int, units_text, "units") if units_text else None
    values = {
        "late_amount": late, "arrears": c(_amount, raw, "arrears") or 0,
        "mobile": c(normalise_mobile, mobile, biller.country) if mobile and biller else None,
        "category": c(_choice, raw, "category", CATEGORIES, "unknown_category"),
        "area": c(_choice, raw, "area", AREAS, "unknown_area"),
        "units": units,
        "address": " ".join((c(_text, raw, "address") or "").split()) or None,
        "language": c(_choice, raw, "language", LANGUAGES, "unknown_language"),
        "meter_no": c(_meter_no, raw), "history": c(lambda: _history(_text(raw, "history"))) or (),
        "bill_date": c(_optional_date, raw, "bill_date"),
        "tariff": c(_short_text, raw, "tariff"),
        "sanctioned_load": c(_load, raw),
        "readings": _readings(raw, c, None if c.bad("units") else units),
        "last_payment": c(_amount, raw, "last_payment"),
        "last_payment_date": c(_optional_date, raw, "last_payment_date"),
    }
    charges = c(lambda: _charges(_text(raw, "charges"), amount)) if amount is not None else None
    bill_no = c(lambda: _bill_no(biller, _text(raw, "bill_no"), period, account_no)) \
        if biller and period and account_no else None
    if c.errors:
        return None, c.errors
    assert biller and account_no and name and period and amount is not None and due_date
    assert bill_no
    return Bill(bill_no=bill_no, biller=biller.code, account_no=account_no, name=name,
                period=period, amount=amount, due_date=due_date, charges=charges or (),
                **values), []


def parse_row(raw: dict[str, Any], config: Config) -> Bill:
    """Validate one record into a :class:`Bill`; raises the row's first ValidationError
    (:func:`parse_row_errors` gives them all)."""
    bill, errors = parse_row_errors(raw, config)
    if errors:
        raise errors[0]
    assert bill is not None
    return bill


def content_hash(bill: Bill) -> str:
    blob = json.dumps(bill.as_dict(), sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


def _bill_row(bill: Bill, import_id: int | None, now: dt.datetime) -> dict[str, Any]:
    details = details_dict(bill)
    return {
        "bill_no": bill.bill_no, "biller": bill.biller, "account_no": bill.account_no,
        "name": bill.name, "period": bill.period, "amount": bill.amount,
        "due_date": bill.due_date, "late_amount": bill.late_amount, "arrears": bill.arrears,
        "mobile": bill.mobile, "category": bill.category, "area": bill.area,
        "units": bill.units, "address": bill.address, "language": bill.language,
        "meter_no": bill.meter_no,
        "history": json.dumps(list(bill.history)) if bill.history else None,
        "charges": json.dumps([list(c) for c in bill.charges]) if bill.charges else None,
        "details": json.dumps(details, ensure_ascii=False) if details else None,
        "content_hash": content_hash(bill), "import_id": import_id,
        "created_at": now, "updated_at": now,
    }


# ---------------------------------------------------------------------------- writing

@dataclass
class _Chunk:
    """Consecutive rows of the file, parsed: the stored rows of the accepted ones (one
    frame, in file order, with their ``line``), the errors of the refused ones, and how
    to get the Bill of an accepted row (only a replace needs it)."""

    stored: Any  # polars DataFrame: importer_columns.SCHEMA
    errors: list[ImportError_]
    rows: int
    bill_of: Callable[[int], Bill]
    #: the bills and ledger rows of every stored row, encoded for the database ahead of
    #: time (:meth:`_Writer.prepare`); used when none of them turns out to be known
    ready: tuple[_Encoded, _Encoded] | None = None


#: plain indexes a big SQLite import keeps up to date row by row (see defer_indexes): a
#: bill file's rows share their biller and period, so each entry goes at the end of the
#: index, for less than building it again afterwards (which reads the whole table)
_KEPT_INDEXES = frozenset({"ix_bills_biller_period"})


class _Writer:
    """Applies chunks of parsed bills inside the import's transaction.

    A bill number seen earlier in the same import is found in the database: the bills
    this import created or replaced carry its ``import_id``, and the others it met
    (unchanged, refused) are kept in a temporary table for the length of the import."""

    def __init__(self, conn: Connection, report: ImportReport, replace: bool, path: Path) -> None:
        self.conn = conn
        self.report = report
        self.replace = replace
        self.path = path
        self.now = utcnow()
        self.import_id: int | None = None
        self.pg = conn.dialect.name == "postgresql"
        self.dialect = conn.dialect
        self.raw = conn.connection.driver_connection
        self._seen_ready = False
        self._deferred: list[str] = []  # CREATE INDEX statements to run at the end

    def write(self, chunk: _Chunk) -> list[ImportError_]:
        """Write the chunk's new bills; the errors of its duplicates and conflicts."""
        import polars as pl

        frame = chunk.stored
        if frame.height == 0:
            return []
        first = frame.get_column("bill_no").is_first_distinct()
        errors = [self._error(line, "bill_no", "duplicate_bill",
                              f"bill {no} appears twice in the file")
                  for line, no in frame.filter(~first).select("line", "bill_no").iter_rows()]
        frame = frame.filter(first)
        old = self._lookup(frame.get_column("bill_no").to_list())
        if old:
            known = frame.filter(pl.col("bill_no").is_in(list(old)))
            frame = frame.filter(~pl.col("bill_no").is_in(list(old)))
            errors += self._known(known, old, chunk.bill_of)
        ready = chunk.ready if frame.height == chunk.stored.height else None
        for encoded in ready or self._encode(frame):
            encoded.send(self.raw)
        self.report.created += frame.height
        return errors

    def prepare(self, chunks: Iterator[_Chunk]) -> Iterator[_Chunk]:
        """``chunks``, each with its rows encoded for the database (``chunk.ready``): the
        reading thread does this while the writer sends the last chunk.  It touches no
        connection, only the import's id and time."""
        for chunk in chunks:
            if chunk.stored.height:
                chunk.ready = self._encode(chunk.stored)
            yield chunk

    def _encode(self, frame: Any) -> tuple[_Encoded, _Encoded]:
        return (_encode(self.dialect, bills_t, _bill_columns(frame, self.import_id, self.now)),
                _encode(self.dialect, ledger_t, _charge_columns(frame, self.now)))

    def _known(self, frame: Any, old: dict[str, Any], bill_of: Callable[[int], Bill]
               ) -> list[ImportError_]:
        errors, seen = [], []
        for line, no, biller, amount, content in frame.select(
                "line", "bill_no", "biller", "amount", "content_hash").iter_rows():
            row = old[no]
            if row["seen"] or (self.import_id is not None
                               and row["import_id"] == self.import_id):
                errors.append(self._error(line, "bill_no", "duplicate_bill",
                                          f"bill {no} appears twice in the file"))
                continue
            if row["content_hash"] == content:
                self.report.unchanged += 1
            elif row["biller"] != biller:
                errors.append(self._error(line, "bill_no", "bill_no_taken",
                                          f"bill {no} belongs to biller {row['biller']}"))
            elif not self.replace:
                code = "amount_conflict" if row["amount"] != amount else "bill_changed"
                errors.append(self._error(line, "amount" if code == "amount_conflict" else None,
                                          code, f"bill {no} is already stored with "
                                          "different content (use --replace)"))
            else:
                bill = bill_of(line)
                values = _bill_row(bill, self.import_id, self.now)
                values.pop("created_at")
                self.conn.execute(update(bills_t).where(bills_t.c.bill_no == no)
                                  .values(**values))
                adjust_bill(self.conn, bill, row["amount"], now=self.now)
                self.report.replaced += 1
                continue
            seen.append(no)
        self._mark_seen(seen)
        return errors

    def _lookup(self, bill_nos: list[str]) -> dict[str, dict[str, Any]]:
        """The stored bills among ``bill_nos`` (and whether this import met them)."""
        cols = ("bill_no", "biller", "amount", "content_hash", "import_id")
        found = {r[0]: dict(zip(cols, r, strict=True), seen=False)
                 for r in self._select(f"SELECT {', '.join(cols)} FROM bills", bill_nos)}
        if found and self._seen_ready:
            for (no,) in self._select("SELECT bill_no FROM import_seen", list(found)):
                found[no]["seen"] = True
        return found

    def _select(self, sql: str, bill_nos: list[str]) -> list[tuple[Any, ...]]:
        cur = self.raw.cursor()  # type: ignore[union-attr]
        if self.pg:
            cur.execute(f"{sql} WHERE bill_no = ANY(%s)", (bill_nos,))
        else:
            cur.execute(f"{sql} WHERE bill_no IN (SELECT value FROM json_each(?))",
                        (json.dumps(bill_nos),))
        return list(cur.fetchall())

    def _mark_seen(self, bill_nos: list[str]) -> None:
        if not bill_nos:
            return
        cur = self.raw.cursor()  # type: ignore[union-attr]
        if not self._seen_ready:
            cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS import_seen "
                        "(bill_no VARCHAR(40) PRIMARY KEY)"
                        + (" ON COMMIT DROP" if self.pg else ""))
            cur.execute("DELETE FROM import_seen")
            self._seen_ready = True
        mark = "%s" if self.pg else "?"
        cur.executemany(f"INSERT INTO import_seen (bill_no) VALUES ({mark})",
                        [(no,) for no in bill_nos])

    def defer_indexes(self, rows: int) -> None:
        """SQLite, an import of ``rows`` rows into tables holding fewer: build the plain
        (non-unique) indexes of ``bills`` (and, when nothing is replaced, of ``ledger``)
        once after the rows, from sorted keys, instead of row by row (but those of
        ``_KEPT_INDEXES``).  They are dropped here and created again by :meth:`close` in
        the same transaction (a rollback, or a crash, brings them back; the import holds
        SQLite's one write lock, and readers see the last commit, indexes and all).  The
        import itself reads ``bills`` by ``bill_no`` (unique, kept) and ``ledger`` only to
        replace."""
        if self.pg:
            return
        cur = self.raw.cursor()  # type: ignore[union-attr]
        for table in ("bills",) if self.replace else ("bills", "ledger"):
            (held,) = cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
            if held >= rows:  # (at least as many rows as the highest id, ever)
                continue
            plain = {r[1] for r in cur.execute(f"PRAGMA index_list({table})")
                     if r[2] == 0 and r[3] == "c"}  # not unique (partial ones too)
            for name, sql in cur.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = ? ORDER BY name", (table,)).fetchall():
                if name in plain and name not in _KEPT_INDEXES and sql:
                    cur.execute(f'DROP INDEX "{name}"')
                    self._deferred.append(sql)

    def close(self, commit: bool) -> None:
        """The end of the import: the deferred indexes built (when it will commit), the
        connection's settings back."""
        if not self.pg:
            cur = self.raw.cursor()  # type: ignore[union-attr]
            if commit:
                for sql in self._deferred:
                    cur.execute(sql)
            if self._seen_ready:
                cur.execute("DROP TABLE IF EXISTS temp.import_seen")
            cur.execute("PRAGMA cache_size=-2000")  # the pooled connection's defaults again
            cur.execute("PRAGMA threads=0")

    def _error(self, line: int, column: str | None, code: str, msg: str) -> ImportError_:
        return ImportError_(msg, code=code, file=str(self.path), row=line, column=column)


def _bill_columns(frame: Any, import_id: int | None, now: dt.datetime
                  ) -> tuple[Any, dict[str, Any]]:
    """The ``bills`` rows of a frame: the columns that vary, and those every row of the
    import shares."""
    from qrpay.importer_columns import STORED

    return frame.select(*STORED), {"import_id": import_id, "created_at": now,
                                   "updated_at": now}


def _charge_columns(frame: Any, now: dt.datetime) -> tuple[Any, dict[str, Any]]:
    """The ledger entries that charge new bills, in bill order: what
    :func:`qrpay.payments.ledger.charge_rows` gives each (its charge and, with arrears,
    the carry), for the whole frame at once (``payment_id`` and ``receipt_no`` left
    null); and the column every row shares."""
    import polars as pl

    base = [pl.col("biller"), pl.col("account_no"), pl.col("bill_no")]
    charge = frame.select(
        *base, pl.lit("charge").alias("kind"), pl.col("amount"),
        (pl.lit("bill ") + pl.col("period")).alias("note"), pl.col("line"),
        pl.lit(0).alias("_k"))
    carry = frame.filter(pl.col("arrears") != 0).select(
        *base, pl.lit("carry").alias("kind"), (-pl.col("arrears")).alias("amount"),
        pl.lit("arrears carried into this bill").alias("note"), pl.col("line"),
        pl.lit(1).alias("_k"))
    both = pl.concat([charge, carry]).sort("line", "_k")
    return both.drop("line", "_k"), {"created_at": now}


@dataclass(frozen=True)
class _Encoded:
    """Rows of one table as the database takes them in: PostgreSQL ``COPY`` data (text
    format, written by polars, the shared columns included), or SQLite parameter tuples
    for one DB-API ``executemany`` (the shared columns as literals of the statement)."""

    table: str
    columns: tuple[str, ...]
    rows: bytes | list[tuple[Any, ...]]
    literals: tuple[str, ...] = ()

    def send(self, raw: Any) -> None:
        if not self.rows:
            return
        names = ", ".join(self.columns)
        if isinstance(self.rows, bytes):
            with raw.cursor() as cur, cur.copy(
                    f"COPY {self.table} ({names}) FROM STDIN") as copy:
                copy.write(self.rows)
            return
        marks = ", ".join(("?",) * (len(self.columns) - len(self.literals)) + self.literals)
        raw.cursor().executemany(f"INSERT INTO {self.table} ({names}) VALUES ({marks})",
                                 self.rows)


def _encode(dialect: Any, table: Table, rows: tuple[Any, dict[str, Any]]) -> _Encoded:
    """A frame of ``table``'s rows (and the values all of them share) as
    :class:`_Encoded` for ``dialect``.  Touches no connection: the reading thread runs it."""
    import polars as pl

    frame, shared = rows
    if frame.height == 0:
        return _Encoded(table.name, (), b"")
    if dialect.name == "postgresql":
        frame = frame.with_columns(pl.lit(_pg_text(v), dtype=pl.String).alias(k)
                                   for k, v in shared.items())
        return _Encoded(table.name, tuple(frame.columns), _copy_text(frame))
    literals = {k: _sqlite_literal(table.c[k].type, dialect, v) for k, v in shared.items()}
    for name in frame.columns:  # a value every row of the chunk has: a literal too
        literal = _same_literal(frame.get_column(name))
        if literal is not None:
            literals[name] = literal
    names = [n for n in frame.columns if n not in literals]
    values = list(zip(*(frame.get_column(n).to_list() for n in names), strict=True)) \
        if names else [()] * frame.height
    return _Encoded(table.name, (*names, *literals), values, tuple(literals.values()))


def _same_literal(column: Any) -> str | None:
    """The SQL literal of the one value every row of ``column`` holds (as DB-API binds
    it: text, integer or null), or None."""
    first = column[0]
    if first is None:
        return "NULL" if column.null_count() == column.len() else None
    if isinstance(first, str) and "\x00" in first:
        return None
    if column.null_count() or not (column == first).all():
        return None
    return _literal(first)


#: what COPY's text format writes with a backslash (the backslash itself first)
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _copy_text(frame: Any) -> bytes:
    """``frame`` in COPY's text format (tab-separated, ``\\N`` for null, backslash
    escapes): PostgreSQL reads it with less work than CSV, whose quotes every JSON
    column is full of.  Only a column holding a character to escape is rewritten."""
    import polars as pl

    if frame.height == 0:
        return b""
    text = [n for n, t in frame.schema.items() if t == pl.String]
    if text:
        found = frame.select(pl.col(text).str.contains(r"[\\\t\n\r]").any()).row(0)
        for name in (n for n, hit in zip(text, found, strict=True) if hit):
            column = pl.col(name)
            for char, escaped in _COPY_ESCAPES:
                column = column.str.replace_all(char, escaped, literal=True)
            frame = frame.with_columns(column)
    out = io.BytesIO()
    frame.write_csv(out, include_header=False, separator="\t", quote_style="never",
                    null_value="\\N")
    return out.getvalue()


def _pg_text(value: Any) -> str | None:
    """A shared value as COPY text (the import's time with its offset, as the column's
    type reads it)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    return str(int(value))


def _sqlite_literal(type_: Any, dialect: Any, value: Any) -> str:
    """A shared value as an SQL literal, bound the way SQLAlchemy binds the column (the
    import's time as the text UtcDateTime stores)."""
    proc = type_.bind_processor(dialect)
    value = proc(value) if proc else value
    return _literal(value.isoformat(" ") if isinstance(value, dt.datetime) else value)


def _literal(value: str | int | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return n


#: rows per chunk; the columnar path reads at most CHUNK_BYTES at once, after the first
#: block a little less than what held CHUNK_ROWS lines (one chunk per block)
CHUNK_ROWS = 10_000
CHUNK_BYTES = 16 << 20
#: SQLite page cache while importing, KiB (the connection's default is 2 MiB)
SQLITE_CACHE_KIB = 128 << 10


def import_bills(store: Store, config: Config, path: str | Path, *, dry_run: bool = False,
                 replace: bool = False, max_errors: int = 50, batch_size: int = CHUNK_ROWS,
                 progress: Callable[[int], None] | None = None,
                 columnar: bool = True) -> ImportReport:
    """Import ``path``; see the module doc.  ``progress(n_rows)`` is called per chunk.

    A CSV file is read by the columnar path (:mod:`qrpay.importer_columns`) while its
    lines are plain one-line records; ``columnar=False`` (and JSON Lines) reads every row
    with the csv module and checks it alone.  Both give the same bills and errors.
    Errors are reported in file order."""
    path = Path(path)
    report = ImportReport(file=str(path), dry_run=dry_run)
    if not path.is_file():
        report.errors.append(ImportError_("no such file", code="file_not_found", file=str(path)))
        return report
    digest = _FileDigest(path)
    with digest, path.open("rb") as raw, store.begin() as conn:
        writer = _Writer(conn, report, replace, path)
        pk = conn.execute(insert(imports_t).values(
            file_name=path.name, sha256="", rows=0, created=0, replaced=0, unchanged=0,
            imported_at=writer.now)).inserted_primary_key
        writer.import_id = int(pk[0]) if pk else None
        if store.is_sqlite:  # the indexes of a big import stay in memory (bounded)
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            conn.exec_driver_sql("PRAGMA threads=2")  # CREATE INDEX sorts on both cores
            writer.defer_indexes(count_rows(path))
        reader = _Reader(config, path, raw, batch_size, columnar)
        try:
            for chunk in _ahead(writer.prepare(reader.chunks())):
                report.rows += chunk.rows
                errors = chunk.errors + writer.write(chunk)
                errors.sort(key=lambda e: e.row or 0)  # stable: a row's errors keep their order
                for e in errors:
                    _add_error(report, max_errors, e)
                if progress:
                    progress(report.rows)
        except ImportError_ as exc:
            _add_error(report, max_errors, exc)
        except UnicodeDecodeError:
            _add_error(report, max_errors, _encoding_error(path))
        writer.close(commit=not (report.errors or dry_run))
        if progress:
            progress(report.rows)
        if report.errors or dry_run:
            conn.rollback()
            return report
        conn.execute(update(imports_t).where(imports_t.c.id == writer.import_id).values(
            sha256=digest.hexdigest(), rows=report.rows, created=report.created,
            replaced=report.replaced, unchanged=report.unchanged))
    return report


class _FileDigest:
    """The SHA-256 of a file, read by a thread of its own while the import runs (hashlib
    lets go of the GIL on a block), not after it: about half a second a million rows
    less at the end.  A context manager: leaving it stops the thread."""

    def __init__(self, path: Path) -> None:
        self._sha = hashlib.sha256()
        self._error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path,), name="import-digest",
                                        daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    if self._stop.is_set():
                        return
                    self._sha.update(block)
        except OSError as exc:
            self._error = exc

    def hexdigest(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._sha.hexdigest()

    def __enter__(self) -> _FileDigest:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _ahead(chunks: Iterator[_Chunk]) -> Iterator[_Chunk]:
    """``chunks``, read and checked one chunk ahead in a thread while the caller writes
    the last one: polars and SQLite (sqlite3_step) release the GIL, and PostgreSQL works
    in its own process, so the import uses two cores.  At most three chunks are alive at
    once; an exception of the reader is raised here, in its place in the file."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def run() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        box.put(("chunk", chunk), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box.put(("error", exc))

    thread = threading.Thread(target=run, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            try:
                box.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


class _Reader:
    """The file as chunks of parsed rows: columnar while the CSV lines are plain one-line
    records, then (or for JSON Lines, or with ``columnar=False``) row by row."""

    def __init__(self, config: Config, path: Path, raw: IO[bytes], chunk_rows: int,
                 columnar: bool) -> None:
        self.config = config
        self.path = path
        self.raw = raw
        self.chunk_rows = chunk_rows
        self.columnar = columnar and path.suffix.lower() not in {".jsonl", ".ndjson", ".json"}
        self.fast = FastParser(config)

    def chunks(self) -> Iterator[_Chunk]:
        header, offset = self._header() if self.columnar else (None, 0)
        if header is None:
            with self._text(0, "utf-8-sig") as text:
                yield from self._row_chunks(_records(self.path, text))
            return
        yield from self._columnar(header, offset)

    def _text(self, offset: int, encoding: str) -> IO[str]:
        """The file as text from byte ``offset`` on (a handle of its own)."""
        raw = self.path.open("rb")
        raw.seek(offset)
        return io.TextIOWrapper(raw, encoding=encoding, newline="")

    def _header(self) -> tuple[list[str] | None, int]:
        """The header, checked, and where the rows start; None: let the csv module read
        the whole file (an empty file, a header over several lines)."""
        from qrpay.importer_columns import plain_line

        self.raw.seek(0)
        first = self.raw.readline()
        try:
            line = first.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None, 0
        if not line.endswith("\n") or not plain_line(line.rstrip("\r\n")):
            return None, 0
        header = [h.strip().lower() for h in next(csv.reader([line]))]
        _check_header(header, self.path)
        return header, len(first)

    def _columnar(self, header: list[str], offset: int) -> Iterator[_Chunk]:
        from qrpay.importer_columns import ColumnChecks, read_chunk

        checks = ColumnChecks(self.config)
        line = 2  # the first row's line
        leftover = b""
        size = CHUNK_BYTES // 4  # then what holds about chunk_rows lines, as far as seen
        self.raw.seek(offset)
        while True:
            block = self.raw.read(size)
            data = leftover + block
            if not block:
                data = data.rstrip(b"\r\n") + b"\n" if data.strip(b"\r\n") else b""
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
            if cut == 0:
                if not block:
                    return
                leftover = data
                continue
            piece, leftover = data[:cut], data[cut:]
            df = read_chunk(piece, header)  # not UTF-8: import_bills names the line
            if df is None:  # not plain: the csv module reads on from here
                with self._text(offset, "utf-8") as text:
                    yield from self._row_chunks(_csv_rows(self.path, text, header, line - 1))
                return
            for start in range(0, df.height, self.chunk_rows):
                part = df.slice(start, self.chunk_rows)
                yield self._columnar_chunk(checks, part, header, line)
                line += part.height
            offset += cut
            size = max(1 << 16, min(CHUNK_BYTES, cut * self.chunk_rows * 63 // 64 // df.height))
            if not block:
                return

    def _columnar_chunk(self, checks: Any, df: Any, header: list[str], line: int) -> _Chunk:
        import polars as pl

        from qrpay.importer_columns import SCHEMA

        checked = checks.check(df)
        stored = checked.stored.with_columns(pl.col("line") + line)
        bills: dict[int, Bill] = {}
        errors: list[ImportError_] = []
        rows = []
        for pos in checked.unusual:
            record = dict(zip(header, df.row(pos), strict=True))
            n = line + pos
            bill = self.fast(record) or self._parse(record, n, errors)
            if bill is not None:
                bills[n] = bill
                rows.append(_stored_row(bill, n))
        if rows:
            stored = pl.concat([stored, pl.DataFrame(rows, schema=SCHEMA, orient="row")
                                .select(stored.columns)]).sort("line")

        def bill_of(n: int) -> Bill:
            if n in bills:
                return bills[n]
            record = dict(zip(header, df.row(n - line), strict=True))
            bill = self.fast(record) or parse_row(record, self.config)
            return bill

        return _Chunk(stored, errors, df.height, bill_of)

    def _row_chunks(self, records: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[_Chunk]:
        """Row by row: the fast parser, else the full checks (which word the errors)."""
        import polars as pl

        from qrpay.importer_columns import SCHEMA

        pending: list[tuple[int, dict[str, Any]]] = []

        def chunk() -> _Chunk:
            bills: dict[int, Bill] = {}
            errors: list[ImportError_] = []
            rows = []
            for n, record in pending:
                bill = self.fast(record) or self._parse(record, n, errors)
                if bill is not None:
                    bills[n] = bill
                    rows.append(_stored_row(bill, n))
            stored = pl.DataFrame(rows, schema=SCHEMA, orient="row")
            return _Chunk(stored, errors, len(pending), bills.__getitem__)

        try:
            for item in records:
                pending.append(item)
                if len(pending) >= self.chunk_rows:
                    yield chunk()
                    pending = []
        except (ImportError_, UnicodeDecodeError):
            if pending:
                yield chunk()
            raise
        if pending:
            yield chunk()

    def _parse(self, record: dict[str, Any], line: int, errors: list[ImportError_]
               ) -> Bill | None:
        try:
            bill, found = parse_row_errors(record, self.config)
        except ValidationError as escaped:  # a check outside the collector: this row's
            bill, found = None, [escaped]
        errors.extend(ImportError_(e.message, code=e.code, file=str(self.path), row=line,
                                   column=e.field) for e in found)
        return bill


def _stored_row(bill: Bill, line: int) -> tuple[Any, ...]:
    """A bill's stored columns (importer_columns.SCHEMA order) and its line."""
    from qrpay.importer_columns import SCHEMA

    row = _bill_row(bill, None, dt.datetime.min)
    row["due_date"] = bill.due_date.isoformat()
    row["line"] = line
    return tuple(row[c] for c in SCHEMA)


ENCODING_HINT = ('save the file as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8; '
                 'LibreOffice: Character set "Unicode (UTF-8)")')


def _encoding_error(path: Path) -> ImportError_:
    """``bad_encoding`` naming the first line that is not UTF-8, and how to fix it."""
    with path.open("rb") as fh:
        for n, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                byte = line[exc.start:exc.start + 1].hex().upper()
                return ImportError_(
                    f"line {n} is not UTF-8 text (byte 0x{byte} at column {exc.start + 1}, "
                    f"as Excel writes Windows-1252 or other code pages): {ENCODING_HINT}",
                    code="bad_encoding", file=str(path), row=n)
    return ImportError_(f"not UTF-8 text: {ENCODING_HINT}", code="bad_encoding",
                        file=str(path))


def _add_error(report: ImportReport, max_errors: int, error: ImportError_) -> None:
    if len(report.errors) < max_errors:
        report.errors.append(error)
    else:
        report.more_errors += 1


def count_rows(path: Path) -> int:
    """Rows in a file, for the progress bar's total (header excluded for CSV)."""
    n = _count_lines(path)
    return max(n - 1, 0) if path.suffix.lower() == ".csv" else n


# ---------------------------------------------------------------------------- fast path
# The common row (ASCII digits, no mistakes) is parsed here without the per-check error
# collection; anything unusual raises _Slow and the row goes through parse_row_errors,
# which alone decides and words every error.  The rules are the functions above: the
# shortcuts below only accept forms those functions accept with the same result
# (tests/test_import_fast.py checks fast == full on generated and mutated rows).

class _Slow(Exception):
    """This row needs the full checks."""


_FAST_AMOUNT = re.compile(r"-?[0-9]{1,11}\.[0-9]{2}")
_FAST_HISTORY = re.compile(r"[0-9]+(?:;[0-9]+){0,11}")
_MEMO_LIMIT = 20_000


class FastParser:
    """Parses common rows quickly; memoises the checks of values that repeat (periods,
    dates, categories, tariffs...) within one import."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.memo: dict[tuple[str, str], Any] = {}

    def __call__(self, raw: dict[str, Any]) -> Bill | None:
        """The row's Bill, or None: then :func:`parse_row_errors` must look at it."""
        try:
            return self._bill(raw)
        except (_Slow, ValidationError):
            return None

    def _memo(self, kind: str, text: str, check: Callable[[str], Any]) -> Any:
        key = (kind, text)
        try:
            return self.memo[key]
        except KeyError:
            pass
        value = check(text)  # a ValidationError sends the row to the full checks
        if len(self.memo) < _MEMO_LIMIT:
            self.memo[key] = value
        return value

    def _bill(self, raw: dict[str, Any]) -> Bill:
        s = _FastRow(raw)
        biller = self._memo("biller", s("biller"), self._biller)
        account_no = _fast_account(biller, s("account_no"))
        name = " ".join(s("name").split())
        if not name or len(name) > MAX_NAME:
            raise _Slow
        period = self._memo("period", s.need("period"), _period)
        amount = _fast_amount(s.need("amount"))
        due_date = self._memo("due_date", s.need("due_date"),
                              lambda t: _date(t, "due_date"))
        units_text = s("units")
        units = _fast_int(units_text) if units_text else None
        readings = self._readings(s, units)
        charges_text = s("charges")
        bill_no_text = s("bill_no")
        return Bill(
            bill_no=(make_bill_no(biller, period, account_no) if not bill_no_text
                     else _bill_no(biller, bill_no_text, period, account_no)),
            biller=biller.code, account_no=account_no, name=name, period=period,
            amount=amount, due_date=due_date,
            charges=_fast_charges(charges_text, amount) if charges_text else (),
            late_amount=self._late(s, biller, amount),
            arrears=_fast_amount(s("arrears")) if s("arrears") else 0,
            mobile=_fast_mobile(s("mobile"), biller.country) if s("mobile") else None,
            category=self._memo("category", s("category"), lambda t: _choice(
                {"category": t}, "category", CATEGORIES, "unknown_category")),
            area=self._memo("area", s("area"), lambda t: _choice(
                {"area": t}, "area", AREAS, "unknown_area")),
            units=units, address=" ".join(s("address").split()) or None,
            language=self._memo("language", s("language"), lambda t: _choice(
                {"language": t}, "language", LANGUAGES, "unknown_language")),
            meter_no=_meter_no({"meter_no": s("meter_no")}),
            history=_fast_history(s("history")),
            bill_date=self._date(s, "bill_date"),
            tariff=self._memo("tariff", s("tariff"),
                              lambda t: _short_text({"tariff": t}, "tariff")),
            sanctioned_load=self._memo("load", s("sanctioned_load"),
                                       lambda t: _load({"sanctioned_load": t})),
            readings=readings,
            last_payment=_fast_amount(s("last_payment")) if s("last_payment") else None,
            last_payment_date=self._date(s, "last_payment_date"))

    def _biller(self, code: str) -> Biller:
        if not code and len(self.config.billers) > 1:
            raise _Slow
        try:
            return self.config.biller(code or None)
        except QrpayError:
            raise _Slow from None

    def _date(self, s: _FastRow, key: str) -> dt.date | None:
        text = s(key)
        return self._memo(key, text, lambda t: _date(t, key)) if text else None

    def _late(self, s: _FastRow, biller: Biller, amount: int) -> int | None:
        text = s("late_amount")
        late = _fast_amount(text) if text else None
        if late is None and biller.late_payment.kind != "none":
            late = biller.late_payment.late_amount(amount)
            if late > MAX_AMOUNT:
                raise _Slow
        if late is not None and late < amount:
            raise _Slow
        return late

    def _readings(self, s: _FastRow, units: int | None) -> Readings | None:
        previous_text, present_text = s("previous_reading"), s("present_reading")
        multiplier_text = s("multiplier")
        dates = (self._date(s, "previous_reading_date"),
                 self._date(s, "present_reading_date"))
        if not previous_text and not present_text:
            if multiplier_text or any(dates):
                raise _Slow
            return None
        if not previous_text or not present_text:
            raise _Slow
        readings = Readings(_fast_int(previous_text), _fast_int(present_text), dates[0],
                            dates[1], _fast_int(multiplier_text) if multiplier_text else 1)
        _check_readings(readings, units)
        return readings


class _FastRow:
    """Text values of a raw record, stripped; a value that is not text needs the full
    checks (which word the ``invalid_type`` error)."""

    __slots__ = ("values",)

    def __init__(self, raw: dict[str, Any]) -> None:
        try:
            self.values: dict[str, str] = {k: v.strip() for k, v in raw.items()
                                           if v is not None}
        except AttributeError:  # a number, list or object: not text
            raise _Slow from None

    def __call__(self, key: str) -> str:
        return self.values.get(key, "")

    def need(self, key: str) -> str:
        value = self(key)
        if not value:
            raise _Slow
        return value


def _fast_amount(text: str) -> int:
    """``1234.50`` -> 123450 (what parse_amount gives); any other form -> _Slow."""
    if not (text.isascii() and _FAST_AMOUNT.fullmatch(text)):
        raise _Slow
    return int(text.replace(".", ""))


def _fast_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise _Slow
    return int(text)


def _fast_account(biller: Biller, text: str) -> str:
    n = biller.numbering
    if n.scheme == "in" and text.isascii() and text.isdigit() and len(text) == n.length \
            and text.startswith(n.prefix):
        return text
    return _account(biller, text)


def _fast_mobile(text: str, country: str) -> str:
    plan = mobile_scheme.PLANS.get(country)
    if plan is None or not (text.isascii() and text.isdigit()):
        raise _Slow
    national = text[1:] if len(text) == 11 and text[0] == "0" else text
    if not plan.national.fullmatch(national):
        raise _Slow
    return f"+{plan.code}{national}"


def _fast_history(text: str) -> tuple[int, ...]:
    if not text:
        return ()
    if not (text.isascii() and _FAST_HISTORY.fullmatch(text)):
        raise _Slow
    return tuple(map(int, text.split(";")))


def _fast_charges(text: str, amount: int) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for part in text.split(";"):
        head, sep, value = part.partition("=")
        head = head.strip().lower()
        if not sep or not head or any(h == head for h, _ in out):
            raise _Slow
        out.append((head, _fast_amount(value.strip())))
    if sum(v for _, v in out) != amount:
        raise _Slow
    return tuple(out)
