"""`monitor serve`: the dashboard (Starlette + Jinja2, served by uvicorn; issue 17).

Design:
- **Never blocks ingestion.** DuckDB lets one process write. Each request opens the database read-only for the
  few milliseconds it needs and closes it; a correction opens it for writing just as briefly. The dashboard holds
  no connection between requests, so `monitor run` / `monitor schedule` (which also open it per batch, waiting
  and retrying while another process holds it: monitor/db/store.py) keep writing while the pages are in use.
  Inside this process one lock orders the connections (DuckDB refuses a read-only and a read-write connection to
  one file in one process at the same time).
- **Charts are drawn on the server** with matplotlib, as the weekly report draws them (monitor/outputs/charts.py):
  one look for page and report, nothing for the browser to download or run, works offline. The pages carry no
  JavaScript at all (the Content-Security-Policy says so).
- **Access.** Loopback by default. Any other bind address needs a users file (monitor/web/auth.py) and TLS
  (uvicorn's, or a reverse proxy's: `--proxy-tls`), because session cookies are then `Secure`. Without a users
  file on loopback, whoever uses the machine is the analyst `local`. Roles: viewer reads; analyst also corrects.
  Every form carries a CSRF token bound to the session; writes are logged with the user and stored in
  `corrections`. No SQL comes from the browser: filters are bound parameters.
- Output is escaped by Jinja2's autoescape; control and bidi characters in feed text are removed first
  (`clean_text`, as in the exports and the report).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import logging
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.db import corrections
from monitor.db.store import Store
from monitor.localtime import LocalTime
from monitor.outputs.export import Week, clean_text, write_weekly
from monitor.outputs.report import CSS, render_weekly
from monitor.web import pages
from monitor.web.auth import LoginThrottle, Role, User, csrf_ok, load_users, new_csrf_token, verify_password

log = logging.getLogger(__name__)
# The weekly report's look (monitor/outputs/report.py), plus navigation, forms and the marked sentences.
STYLESHEET = CSS + """
header.top{background:#1d2330;margin:-10px -10px 10px;padding:8px 10px}
header.top nav{max-width:820px;margin:auto;display:flex;flex-wrap:wrap;gap:12px;align-items:center}
header.top a{color:#fff;text-decoration:none}header.top a[aria-current]{text-decoration:underline}.brand{font-weight:700}
.who{color:#cfd5e0;font-size:.85rem;margin-left:auto}form.inline{display:inline}header.top button{font-size:.8rem}
a[aria-current=true]{font-weight:700}.flash{background:#e6f4ea;border-radius:6px;padding:6px 10px}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;background:#fff;padding:10px;border-radius:8px}
form.filters label,form.correct label,.narrow-form label{display:flex;flex-direction:column;font-size:.8rem;color:#445}
input,select,button{font:inherit;font-size:.9rem;padding:4px 6px;max-width:100%}button{cursor:pointer}
form.correct{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-end;margin:6px 0}.mention{border-top:1px solid #e3e6ea;padding:6px 0}
.mention.wrong{opacity:.7}h3{font-size:1rem;margin:4px 0}mark{background:#fff3c4;padding:0 2px}
mark.tone-negative{background:#fde7e7;text-decoration:underline wavy #b3261e}
mark.tone-positive{background:#e6f4ea;text-decoration:underline #1b7f3b}
.tag{font-size:.75rem;color:#445;background:#eef1f5;border-radius:4px;padding:0 4px;margin:0 4px}
.tone-negative{color:#b3261e}.tone-positive{color:#1b7f3b}ul.sentences{padding-left:18px;font-size:.9rem}tr.self td{background:#eef1f5}
.pager{display:flex;justify-content:space-between}code{background:#eef1f5;padding:0 3px}.narrow-form{max-width:360px}
.narrow-form form{display:flex;flex-direction:column;gap:8px}
@media screen and (max-width:480px){.narrow-hide{display:none}th:first-child,td:first-child{width:55%}}
"""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
DOWNLOADS = {"summary.csv": ("csv", 0), "stories.csv": ("csv", 1), "xlsx": ("xlsx", 0)}


@dataclass
class WebSettings:
    """What `monitor serve` was started with (validated by the CLI before the app is built)."""

    db_path: str
    local: LocalTime = field(default_factory=LocalTime)
    followed: list[str] = field(default_factory=list)
    users_file: Path | None = None
    secret: str = ""
    secure_cookies: bool = False
    lock_timeout_s: float = 20.0
    as_of: dt.date | None = None  # show the dashboard as of this local day (looking back; benchmarks); None: today


class Database:
    """Short-lived connections, one at a time in this process (see the module docstring).

    Writers of other processes (a run, the scheduler) cannot queue for DuckDB's file lock; they poll
    (monitor/db/store.py). So that a busy dashboard leaves them room, it holds the file at most half the time:
    after a connection held for t seconds the next one opens no sooner than max(t, MIN_GAP_S) later."""

    MIN_GAP_S = 0.02

    def __init__(self, path: str, lock_timeout_s: float):
        self.store = Store(path, lock_timeout_s=lock_timeout_s, spool_dir="")
        self._lock = threading.Lock()
        self._next_open = 0.0
        with self.store.session():  # an older file brought up to the current schema once, at start
            pass

    @contextlib.contextmanager
    def _held(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            wait = self._next_open - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            opened = time.monotonic()
            try:
                with self.store.session(read_only=read_only) as con:
                    yield con
            finally:
                closed = time.monotonic()
                self._next_open = closed + max(closed - opened, self.MIN_GAP_S)

    def read(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self._held(read_only=True)

    def write(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self._held(read_only=False)


def _environment(local: LocalTime) -> Environment:
    env = Environment(loader=PackageLoader("monitor.web", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["clean"] = lambda v: clean_text(str(v)) if v is not None else ""
    env.filters["tone_word"] = lambda v: pages.TONE_WORDS.get(v, "belum dinilai") if v else "belum dinilai"
    env.filters["signed"] = lambda v, digits=0: "–" if v is None else (f"{v:+.{digits}f}".replace("-", "−"))
    env.filters["pct"] = lambda v: "–" if v is None else f"{v * 100:.0f}%"
    env.filters["local"] = lambda ts: local.local(ts).strftime("%d/%m/%Y %H:%M") if ts else "–"
    env.filters["http_only"] = lambda url: url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
    return env


def create_app(settings: WebSettings) -> Starlette:
    """The dashboard as an ASGI app. Raises UsersFileError for a bad users file."""
    users = load_users(settings.users_file) if settings.users_file else None
    db = Database(settings.db_path, settings.lock_timeout_s)
    env = _environment(settings.local)
    throttle = LoginThrottle()
    local = settings.local

    def current_user(request: Request) -> User | None:
        if users is None:
            return User(f"local:{getpass.getuser()}", Role.ANALYST)
        name = request.session.get("user")
        return users.get(name) if name else None

    def csrf_token(request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = new_csrf_token()
        return str(request.session["csrf"])

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        user = current_user(request)
        page = env.get_template(template).render(
            user=user, login_needed=users is not None, csrf_token=csrf_token(request), zone=local.label,
            path=request.url.path, flash=request.session.pop("flash", None), **context)
        return HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)

    def error(request: Request, status_code: int, message: str) -> HTMLResponse:
        return render(request, "error.html", status_code=status_code, message=message)

    def guarded(handler):
        """Pages need a signed-in user when a users file is in use; otherwise a redirect to the login page."""
        async def wrapper(request: Request) -> Response:
            if current_user(request) is None:
                return RedirectResponse("/login?next=" + request.url.path, status_code=303)
            return await handler(request)
        return wrapper

    def today() -> dt.date:
        return settings.as_of or local.today()

    def days_param(request: Request, default: int) -> int:
        value = request.query_params.get("days", str(default))
        return int(value) if value in {"7", "14", "28", "90"} else default

    async def overview(request: Request) -> Response:
        days = days_param(request, 7)
        with db.read() as con:
            data = pages.overview(con, settings.followed, today(), days)
        return render(request, "overview.html", data=data)

    async def agency(request: Request) -> Response:
        days = days_param(request, 28)
        with db.read() as con:
            data = pages.agency(con, request.path_params["agency_id"], today(), days)
        if data is None:
            return error(request, 404, "Instansi tidak dikenal.")
        return render(request, "agency.html", data=data)

    async def agency_chart(request: Request) -> Response:
        days = days_param(request, 28)
        kind = request.path_params["kind"]
        with db.read() as con:
            svg = pages.agency_chart(con, request.path_params["agency_id"], today(), days, kind)
        if svg is None:
            return error(request, 404, "Grafik tidak dikenal.")
        return Response(svg, media_type="image/svg+xml", headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=300"})

    def _date(value: str | None, default: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat(value) if value else default
        except ValueError:
            return default

    async def stories(request: Request) -> Response:
        q = request.query_params
        first = _date(q.get("since"), today() - dt.timedelta(days=6))
        last = _date(q.get("until"), today())
        tone = q.get("tone") if q.get("tone") in pages.TONE_WORDS else None
        try:
            page = max(1, min(int(q.get("page", "1")), 1000))
        except ValueError:
            page = 1
        f = pages.StoryFilter(since=first, until=last + dt.timedelta(days=1), agency=q.get("agency") or None, tone=tone,
                              outlet=q.get("outlet") or None, topic=q.get("topic") or None,
                              text=(q.get("q") or "").strip()[:200] or None,
                              order=str(q.get("order")) if q.get("order") in pages.ORDERS else "newest", page=page)
        with db.read() as con:
            data = pages.stories(con, f)
            choices = pages.filter_choices(con, f.since, f.until)
            agency_names = pages.names(con)
        query = {k: v for k, v in q.items() if k != "page" and v}
        return render(request, "stories.html", data=data, f=f, last=last, choices=choices, names=agency_names, query=query)

    async def article(request: Request) -> Response:
        with db.read() as con:
            data = pages.article(con, request.path_params["article_id"], local)
        if data is None:
            return error(request, 404, "Artikel tidak ditemukan.")
        return render(request, "article.html", a=data, tone_values=pages.TONE_WORDS)

    async def correct(request: Request) -> Response:
        user = current_user(request)
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf_token", ""))):
            return error(request, 403, "Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu coba lagi.")
        if user is None or not user.may_correct:
            log.warning("correction refused: user %s may not correct", user.name if user else "-")
            return error(request, 403, "Akun Anda hanya dapat membaca; koreksi hanya untuk peran analis.")
        article_id = request.path_params["article_id"]
        try:
            with db.write() as con:
                corrections.record_correction(
                    con, article_id=article_id, agency_id=str(form.get("agency_id") or "") or None,
                    kind=str(form.get("kind", "")), new_value=str(form.get("new_value", "")), user=user.name,
                    note=str(form.get("note") or "") or None)
        except corrections.CorrectionError as exc:
            return error(request, 400, f"Koreksi tidak disimpan: {exc}")
        request.session["flash"] = "Koreksi disimpan."
        return RedirectResponse(f"/article/{article_id}", status_code=303)

    async def downloads(request: Request) -> Response:
        noon = local.start_of(today()) + dt.timedelta(hours=12)
        this_week = Week.last_complete(local, noon)
        weeks = [Week.last_complete(local, noon - dt.timedelta(days=7 * i)) for i in range(-1, 12)]
        return render(request, "downloads.html", weeks=weeks, default=this_week, kinds=list(DOWNLOADS) + ["report.html"])

    async def download(request: Request) -> Response:
        try:
            week = Week.parse(request.path_params["week"])
        except ValueError as exc:
            return error(request, 400, str(exc))
        kind = request.path_params["kind"]
        if kind == "report.html":
            with db.read() as con:
                page = render_weekly(con, week, None, local=local, followed=settings.followed)
            return HTMLResponse(page, headers={**SECURITY_HEADERS, "Content-Disposition":
                                               f'attachment; filename="monitor-report-{week.label}.html"'})
        if kind not in DOWNLOADS:
            return error(request, 404, "Jenis unduhan tidak dikenal.")
        fmt, index = DOWNLOADS[kind]
        out = Path(tempfile.mkdtemp(prefix="monitor-download-"))
        with db.read() as con:
            paths = write_weekly(con, week, None, out, fmt, local=local)
        path = paths[index]
        return FileResponse(path, filename=path.name, headers={"Cache-Control": "no-store"},
                            background=_cleanup(out))

    async def login_page(request: Request) -> Response:
        if users is None:
            return RedirectResponse("/", status_code=303)
        return render(request, "login.html", next=_safe_next(request.query_params.get("next")))

    async def login(request: Request) -> Response:
        if users is None:
            return RedirectResponse("/", status_code=303)
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf_token", ""))):
            return error(request, 403, "Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu coba lagi.")
        name, password = str(form.get("name", "")).strip().lower(), str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "/")))
        if throttle.blocked(name):
            log.warning("login refused for %r: too many failures", name)
            return render(request, "login.html", status_code=429, next=target,
                          message="Terlalu banyak percobaan gagal. Coba lagi dalam 15 menit.")
        user = users.get(name)
        if user is None or not verify_password(password, user.password_hash):
            throttle.failed(name)
            log.warning("login failed for %r", name)
            return render(request, "login.html", status_code=401, next=target, message="Nama atau kata sandi salah.")
        throttle.succeeded(name)
        request.session.clear()  # a new session on login (no fixation)
        request.session.update({"user": user.name, "csrf": new_csrf_token()})
        log.info("login: %s (%s)", user.name, user.role.value)
        return RedirectResponse(target, status_code=303)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf_token", ""))):
            return error(request, 403, "Formulir kedaluwarsa atau tidak sah (token CSRF).")
        request.session.clear()
        return RedirectResponse("/login" if users is not None else "/", status_code=303)

    async def stylesheet(request: Request) -> Response:
        return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(request, 404, "Halaman tidak ditemukan.")

    routes = [
        Route("/", guarded(overview)), Route("/agency/{agency_id}", guarded(agency)),
        Route("/agency/{agency_id}/chart/{kind}.svg", guarded(agency_chart)), Route("/stories", guarded(stories)),
        Route("/article/{article_id}", guarded(article)),
        Route("/article/{article_id}/correct", guarded(correct), methods=["POST"]),
        Route("/downloads", guarded(downloads)), Route("/downloads/{week}/{kind}", guarded(download)),
        Route("/login", login_page), Route("/login", login, methods=["POST"]), Route("/logout", logout, methods=["POST"]),
        Route("/monitor.css", stylesheet),
    ]
    middleware = [Middleware(SessionMiddleware, secret_key=settings.secret, session_cookie="monitor_session",
                             https_only=settings.secure_cookies, same_site="strict", max_age=12 * 3600)]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host): an open redirect through the login page is refused."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _cleanup(folder: Path):
    from starlette.background import BackgroundTask

    def remove() -> None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()

    return BackgroundTask(remove)
