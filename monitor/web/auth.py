"""Who may use the dashboard, and how a password is checked (issue 17, "Access and safety").

Users live in a YAML file the operator keeps (`monitor users add NAME --role analyst --users users.yaml`):

    users:
      - name: ani
        role: analyst        # analyst: reads and corrects; viewer: reads only
        password: "scrypt$16384$8$1$<salt, base64>$<key, base64>"

Passwords are stored as scrypt keys (RFC 7914, via `hashlib.scrypt`; n=2^14, r=8, p=1 — the parameters OWASP's
Password Storage Cheat Sheet gives as a minimum), never in clear. Checking compares in constant time
(`hmac.compare_digest`). Failed logins are throttled per user name: `MAX_FAILURES` within `FAILURE_WINDOW_S`
and the name is refused until the window passes (a slow guessing attack, not a lockout of the real user for long).
Errors: `UsersFileError` (a ValueError naming the file, the entry and the field).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
MIN_SECRET_CHARS = 32
SESSION_HOURS = 12
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class Role(StrEnum):
    VIEWER = "viewer"    # reads every page and download
    ANALYST = "analyst"  # also records corrections


class UsersFileError(ValueError):
    """The users file cannot be used: the message names the file, the entry and the field."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str = ""

    @property
    def may_correct(self) -> bool:
        return self.role is Role.ANALYST


def hash_password(password: str, salt: bytes | None = None) -> str:
    """'scrypt$n$r$p$salt$key' (base64 parts) for a password of at least 10 characters; ValueError if shorter."""
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    salt = salt or secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(key).decode()])


# checked against when the name is unknown, so that a wrong name takes as long as a wrong password
DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def verify_password(password: str, stored: str) -> bool:
    """True when `password` gives the stored scrypt key; False for any other password or a malformed hash."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def load_users(path: Path) -> dict[str, User]:
    """name -> User from the users file; UsersFileError for a missing file, bad YAML, a duplicate or malformed entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot read the users file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UsersFileError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    entries = data.get("users") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsersFileError(f"{path}: expected a top-level `users:` list")
    users: dict[str, User] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: users[{i}]"
        if not isinstance(entry, dict):
            raise UsersFileError(f"{where}: expected a mapping with name, role and password")
        name, role, password = entry.get("name"), entry.get("role"), entry.get("password")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise UsersFileError(f"{where}.name: lowercase letters, digits, '.', '_' or '-' (got {name!r})")
        if role not in {r.value for r in Role}:
            raise UsersFileError(f"{where} ({name}).role: analyst or viewer (got {role!r})")
        if not isinstance(password, str) or not password.startswith("scrypt$") or password.count("$") != 5:
            raise UsersFileError(f"{where} ({name}).password: an scrypt hash from `monitor users add` (never the password itself)")
        if name in users:
            raise UsersFileError(f"{where}.name: {name!r} appears twice")
        users[name] = User(name, Role(role), password)
    return users


def add_user(path: Path, name: str, role: str, password: str) -> None:
    """Add or replace one user in the users file (created with mode 0600 when missing); ValueError for a bad
    name, role or password (see `hash_password`)."""
    if not NAME.fullmatch(name):
        raise ValueError(f"user name {name!r}: lowercase letters, digits, '.', '_' or '-'")
    if role not in {r.value for r in Role}:
        raise ValueError(f"role {role!r}: analyst or viewer")
    entries = [{"name": u.name, "role": u.role.value, "password": u.password_hash}
               for u in (load_users(path).values() if path.exists() else []) if u.name != name]
    entries.append({"name": name, "role": role, "password": hash_password(password)})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"users": entries}, handle, sort_keys=False, allow_unicode=True)


def session_secret(users_file: Path | None) -> str:
    """The key that signs session cookies: $MONITOR_SESSION_SECRET, else `<users file>.secret` (created once, mode
    0600, written whole or not at all), else a random key for this process (loopback without users). UsersFileError
    for a key shorter than MIN_SECRET_CHARS (an empty file would let anyone sign a session)."""
    if os.environ.get("MONITOR_SESSION_SECRET") is not None:
        secret, where = os.environ["MONITOR_SESSION_SECRET"], "$MONITOR_SESSION_SECRET"
    elif users_file is None:
        return secrets.token_urlsafe(32)
    else:
        secret_path = users_file.with_name(users_file.name + ".secret")
        if not secret_path.exists():
            partial = secret_path.with_name(secret_path.name + f".{os.getpid()}.tmp")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
            os.replace(partial, secret_path)
        secret, where = secret_path.read_text().strip(), str(secret_path)
    if len(secret) < MIN_SECRET_CHARS:
        raise UsersFileError(f"{where}: the session key has {len(secret)} characters, at least {MIN_SECRET_CHARS} are "
                             "needed (delete the file to have a new one made)")
    return secret


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'; every other bind address (0.0.0.0 included) is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def answered_hosts(host: str, with_users: bool, server_names: list[str]) -> list[str]:
    """The Host header values the dashboard answers (Starlette's TrustedHostMiddleware). Given names (and the bind
    address); without users (no login, loopback only) the loopback names alone, so that a web page elsewhere cannot
    reach the dashboard through a name of its own that resolves to 127.0.0.1 (DNS rebinding); with users any host
    (a signed-in session cookie is bound to the real name)."""
    if server_names:
        return [*server_names, host]
    if not with_users:
        return sorted({"127.0.0.1", "localhost", host})
    return ["*"]


class LoginThrottle:
    """Failed logins per user name within a sliding window (thread-safe; in memory, per process)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S, clock=time.monotonic):
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: str) -> list[float]:
        now = self.clock()
        recent = [t for t in self._failures.get(name, []) if now - t < self.window_s]
        self._failures[name] = recent
        return recent

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name)) >= self.max_failures

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name).append(self.clock())
            if len(self._failures) > 10_000:  # names nobody tried lately are forgotten (memory stays bounded)
                for stale in [n for n in self._failures if not self._recent(n)]:
                    del self._failures[stale]

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


class Sessions:
    """Signed-in sessions the server still honours: a cookie is signed, but a copy of it must stop working at
    logout and after SESSION_HOURS however it is used. In memory: a restart signs everyone out."""

    def __init__(self, hours: float = SESSION_HOURS, clock=time.time):
        self.max_age_s, self.clock = hours * 3600, clock
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        session_id = secrets.token_urlsafe(24)
        with self._lock:
            now = self.clock()
            for old in [s for s, t in self._started.items() if now - t >= self.max_age_s]:
                del self._started[old]
            self._started[session_id] = now
        return session_id

    def valid(self, session_id: str | None) -> bool:
        with self._lock:
            started = self._started.get(session_id or "")
            return started is not None and self.clock() - started < self.max_age_s

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._started.pop(session_id or "", None)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """The form's token equals the session's (constant time); False when either is missing."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))
