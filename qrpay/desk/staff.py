"""Staff accounts for the counter desk.

Passwords are stored as argon2id hashes (argon2-cffi).  Each account has a role
(``cashier`` < ``supervisor`` < ``admin``) and is bound to one biller and one counter.
Repeated failed logins inside a time window lock the account for a while; a disabled
account never logs in.  Login never tells an unknown user from a wrong password.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, select

from qrpay.clock import aware as _aware
from qrpay.clock import utcnow
from qrpay.errors import Conflict, NotFound, ValidationError
from qrpay.store import Store
from qrpay.store.schema import staff

ROLES = ("cashier", "supervisor", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
MAX_FAILURES = 5  # failed logins inside FAILURE_WINDOW that lock the account
FAILURE_WINDOW = dt.timedelta(minutes=15)
LOCK_PERIOD = dt.timedelta(minutes=15)
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_COUNTER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")

# argon2id at one of OWASP's equivalent settings (12 MiB, 3 passes, 1 lane): about 50 ms
# per check on a 2-core server, so a burst of logins cannot starve the desk.  Hashes made
# with other settings are re-hashed at the next successful login.
_hasher = PasswordHasher(time_cost=3, memory_cost=12288, parallelism=1)
# Verified against when the user does not exist, so that both paths cost one hash.
_DUMMY_HASH = _hasher.hash("qrpay-no-such-user")


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    role: str
    biller: str
    counter: str
    active: bool = True
    locked_until: dt.datetime | None = None

    def has_role(self, minimum: str) -> bool:
        """True when this account's role is ``minimum`` or above."""
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt did: ``staff`` on success, else an error ``code``."""

    staff: Staff | None
    code: str | None = None
    username: str = ""

    @property
    def ok(self) -> bool:
        return self.staff is not None


def _row_to_staff(row: Any) -> Staff:
    m = row._mapping
    return Staff(id=m["id"], username=m["username"], role=m["role"], biller=m["biller"] or "",
                 counter=m["counter"] or "", active=bool(m["active"]),
                 locked_until=_aware(m["locked_until"]))


def normalise_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not _USERNAME.match(name):
        raise ValidationError("username: 2-64 of a-z, 0-9, '.', '_', '-'",
                              code="bad_username", field="username")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationError(f"password: at least {MIN_PASSWORD} characters",
                              code="weak_password", field="password")
    if len(password) > MAX_PASSWORD:
        raise ValidationError("password: too long", code="password_too_long", field="password")
    return password


def check_role(role: str) -> str:
    if role not in ROLE_RANK:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", code="bad_role",
                              field="role")
    return role


def check_counter(counter: str) -> str:
    name = (counter or "").strip()
    if not _COUNTER.match(name):
        raise ValidationError("counter: 1-40 letters, digits, space, '.', '_', '-'",
                              code="bad_counter", field="counter")
    return name


def add_staff(conn: Connection, username: str, password: str, *, role: str, biller: str,
              counter: str, now: dt.datetime | None = None) -> Staff:
    """Create an account.  ``Conflict(staff_exists)`` when the username is taken."""
    name = normalise_username(username)
    check_role(role)
    check_password(password)
    counter = check_counter(counter)
    if not biller:
        raise ValidationError("a desk account needs a biller", code="missing_biller",
                              field="biller")
    if find_staff(conn, name) is not None:
        raise Conflict(f"staff {name} already exists", code="staff_exists", field="username")
    result = conn.execute(staff.insert().values(
        username=name, password_hash=_hasher.hash(password), role=role, biller=biller,
        counter=counter, failed_logins=0, active=True, created_at=now or utcnow()))
    pk = result.inserted_primary_key
    assert pk is not None
    return Staff(id=int(pk[0]), username=name, role=role, biller=biller,
                 counter=counter)


def find_staff(conn: Connection, username: str) -> Staff | None:
    row = conn.execute(select(staff).where(staff.c.username == username.strip().lower())).first()
    return _row_to_staff(row) if row else None


def get_staff(conn: Connection, staff_id: int) -> Staff:
    row = conn.execute(select(staff).where(staff.c.id == staff_id)).first()
    if row is None:
        raise NotFound(f"no staff {staff_id}", code="unknown_staff")
    return _row_to_staff(row)


def require_staff(conn: Connection, username: str) -> Staff:
    found = find_staff(conn, username)
    if found is None:
        raise NotFound(f"no staff {username}", code="unknown_staff", field="username")
    return found


def list_staff(conn: Connection) -> list[Staff]:
    return [_row_to_staff(r) for r in conn.execute(select(staff).order_by(staff.c.username))]


def set_password(conn: Connection, username: str, password: str) -> Staff:
    """Set a new password; also clears failed logins and any lock."""
    found = require_staff(conn, username)
    check_password(password)
    conn.execute(staff.update().where(staff.c.id == found.id).values(
        password_hash=_hasher.hash(password), failed_logins=0, locked_until=None,
        last_failed_at=None))
    return found


def disable(conn: Connection, username: str) -> Staff:
    """Deactivate an account (kept for the audit trail and receipts, never deleted)."""
    found = require_staff(conn, username)
    conn.execute(staff.update().where(staff.c.id == found.id).values(active=False))
    return found


#: What a refused login tells the visitor: a locked account answers as a wrong password
#: does (the lock is recorded in the audit trail), so the answer reveals no username.
PUBLIC_CODES = {"locked": "bad_credentials"}


def public_code(code: str | None) -> str | None:
    return PUBLIC_CODES.get(code, code) if code else code


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginCheck:
    """A password checked against the stored hash, before anything is recorded.

    ``result`` is ``right``, ``wrong``, ``locked`` (the account was locked when read; the
    password was still checked, for the same cost) or ``unknown`` (no such user; a dummy
    hash was checked instead).
    """

    username: str
    result: str
    staff_id: int | None = None
    password_hash: str | None = None  # the hash the password was checked against
    new_hash: str | None = None  # a re-hash at current settings, after a right password


def read_account(conn: Connection, username: str) -> Any:
    """The staff row a login names (normalised, truncated), or None."""
    name = _login_name(username)
    return conn.execute(select(staff).where(staff.c.username == name)).first() if name else None


def _login_name(username: str) -> str:
    return (username or "").strip().lower()[:64]


def check_login(row: Any, username: str, password: str, now: dt.datetime) -> LoginCheck:
    """Check ``password`` against ``row`` (from :func:`read_account`); touches no database.

    The argon2 check costs about 50 ms: run it outside any write transaction.
    """
    name = _login_name(username)
    if row is None:
        _verify(_DUMMY_HASH, password or "")
        return LoginCheck(name, "unknown")
    m = row._mapping
    # Checked even when the account is locked: every path costs one argon2 check, so
    # neither the answer nor its time tells a locked account from an unknown name.
    right = _verify(m["password_hash"], password or "")
    locked_until = _aware(m["locked_until"])
    if locked_until is not None and locked_until > now:
        return LoginCheck(name, "locked", m["id"], m["password_hash"])
    if not right:
        return LoginCheck(name, "wrong", m["id"], m["password_hash"])
    rehash = _hasher.hash(password) if _hasher.check_needs_rehash(m["password_hash"]) else None
    return LoginCheck(name, "right", m["id"], m["password_hash"], rehash)


def verify_login(store: Store, username: str, password: str,
                 now: dt.datetime | None = None) -> LoginCheck:
    """Read the account on a read connection, then check the password with no connection
    held.  Record the outcome with :func:`record_login` in a (short) write transaction."""
    with store.connect() as conn:
        row = read_account(conn, username)
    return check_login(row, username, password, now or utcnow())


def _locked_row(conn: Connection, staff_id: int) -> Any:
    q = select(staff).where(staff.c.id == staff_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()  # failure counts from parallel logins add up
    return conn.execute(q).first()


def _record_failure(conn: Connection, row: Any, now: dt.datetime) -> str:
    # ``row`` was read FOR UPDATE in this transaction (SQLite: under BEGIN IMMEDIATE).
    m = row._mapping
    last = _aware(m["last_failed_at"])
    inside = last is not None and now - last <= FAILURE_WINDOW
    failures = (m["failed_logins"] or 0) + 1 if inside else 1
    locked = now + LOCK_PERIOD if failures >= MAX_FAILURES else None
    conn.execute(staff.update().where(staff.c.id == m["id"]).values(
        failed_logins=0 if locked else failures, last_failed_at=now, locked_until=locked))
    return "locked" if locked else "bad_credentials"


def record_login(conn: Connection, check: LoginCheck,
                 now: dt.datetime | None = None, *, lock_account: bool = True) -> LoginOutcome:
    """Record a checked login in the caller's write transaction and say what it did.

    The account row is re-read under a row lock, so parallel wrong passwords each count
    and a lock set meanwhile wins over a right password.  Codes: ``bad_credentials``,
    ``locked``, ``disabled``.
    """
    now = now or utcnow()
    name = check.username
    if check.staff_id is None:
        return LoginOutcome(None, "bad_credentials", name)
    if check.result == "locked":
        return LoginOutcome(None, "locked", name)
    row = _locked_row(conn, check.staff_id)
    if row is None:
        return LoginOutcome(None, "bad_credentials", name)
    m = row._mapping
    locked_until = _aware(m["locked_until"])
    if locked_until is not None and locked_until > now:
        return LoginOutcome(None, "locked", name)
    if m["password_hash"] != check.password_hash:  # the password was changed meanwhile
        return LoginOutcome(None, "bad_credentials", name)
    if check.result != "right":
        if not lock_account:  # the desk locks per address (qrpay.desk.throttle)
            return LoginOutcome(None, "bad_credentials", name)
        return LoginOutcome(None, _record_failure(conn, row, now), name)
    if not m["active"]:
        return LoginOutcome(None, "disabled", name)
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_failed_at": None}
    if check.new_hash:
        values["password_hash"] = check.new_hash
    conn.execute(staff.update().where(staff.c.id == m["id"]).values(**values))
    return LoginOutcome(_row_to_staff(row), None, name)


def attempt_login(conn: Connection, username: str, password: str,
                  now: dt.datetime | None = None) -> LoginOutcome:
    """Check a password and record the outcome, all on ``conn`` (CLI and tests).

    The password check runs inside the caller's transaction: a server should use
    :func:`verify_login` and then :func:`record_login` in a short write transaction.
    Returns an outcome instead of raising so that the caller commits the failure count
    (and its audit row) before refusing.
    """
    now = now or utcnow()
    check = check_login(read_account(conn, username), username, password, now)
    return record_login(conn, check, now)
