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

import datetime as dt
import getpass
import logging
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.db import corrections
from monitor.errors import DatabaseLockedError
from monitor.outputs.export import Week, write_weekly
from monitor.outputs.report import render_weekly
from monitor.web import pages
from monitor.web.auth import (
    DUMMY_HASH,
    SESSION_HOURS,
    LoginThrottle,
    Role,
    Sessions,
    User,
    csrf_ok,
    load_users,
    new_csrf_token,
    verify_password,
)
from monitor.web.context import (
    DOWNLOADS,
    SECURITY_HEADERS,
    STYLESHEET,
    Database,
    WebSettings,
    environment,
    safe_next,
)

log = logging.getLogger(__name__)
PUBLIC_PATHS = ("/login", "/monitor.css")
SERIES_KEPT = 64
WEEK_MESSAGE = "Minggu ditulis seperti 2026-W48 (tahun ISO, W, nomor minggu)."
CSRF_MESSAGE = "Formulir kedaluwarsa atau tidak sah (token CSRF). Muat ulang halaman lalu coba lagi."


class Site:
    """The pages. GET handlers are plain functions (Starlette runs them in its thread pool, so a slow page never
    holds up the server); form handlers read the form, then do their database work in the thread pool."""

    def __init__(self, settings: WebSettings):
        self.settings = settings
        self.users = load_users(settings.users_file) if settings.users_file else None
        self.db = Database(settings.db_path, settings.lock_timeout_s)
        self.env = environment(settings.local)
        self.throttle = LoginThrottle()
        self.sessions = Sessions()
        self.local = settings.local
        # the agency pages' chart data, kept for the two chart requests that follow each page (LRU, per data version)
        self.series: OrderedDict[tuple, pages.DailySeries] = OrderedDict()
        self.series_lock = threading.Lock()

    # -- shared --------------------------------------------------------------------------------------------------
    def current_user(self, request: Request) -> User | None:
        """The signed-in user; without a users file (loopback only) whoever uses the machine, as analyst."""
        if self.users is None:
            return User(f"local:{getpass.getuser()}", Role.ANALYST)
        name = request.session.get("user")
        if not name or not self.sessions.valid(request.session.get("sid")):  # signed out, expired, or a restart
            return None
        return self.users.get(name)

    def csrf_token(self, request: Request) -> str:
        if "csrf" not in request.session:
            request.session["csrf"] = new_csrf_token()
        return str(request.session["csrf"])

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        page = self.env.get_template(template).render(
            user=self.current_user(request), login_needed=self.users is not None, csrf_token=self.csrf_token(request),
            zone=self.local.label, path=request.url.path, flash=request.session.pop("flash", None), **context)
        return HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)

    def error(self, request: Request, status_code: int, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status_code=status_code, message=message)

    def today(self) -> dt.date:
        return self.settings.as_of or self.local.today()

    @staticmethod
    def days(request: Request, default: int) -> int:
        value = request.query_params.get("days", str(default))
        return int(value) if value in {"7", "14", "28", "90"} else default

    # -- pages ---------------------------------------------------------------------------------------------------
    def overview(self, request: Request) -> Response:
        with self.db.read() as con:
            data = pages.overview(con, self.settings.followed, self.today(), self.days(request, 7))
        return self.render(request, "overview.html", data=data)

    def agency(self, request: Request) -> Response:
        agency_id, days = request.path_params["agency_id"], self.days(request, 28)
        version = self.db.version()  # before reading: a write meanwhile makes the kept series look older, never newer
        with self.db.read() as con:
            data = pages.agency(con, agency_id, self.today(), days)
        if data is None:
            return self.error(request, 404, "Instansi tidak dikenal.")
        with self.series_lock:
            self.series[(agency_id, days, self.today(), version)] = data["series"]
            while len(self.series) > SERIES_KEPT:
                self.series.popitem(last=False)
        return self.render(request, "agency.html", data=data)

    def agency_chart(self, request: Request) -> Response:
        agency_id, days, kind = request.path_params["agency_id"], self.days(request, 28), request.path_params["kind"]
        if kind not in ("volume", "tone"):
            return self.error(request, 404, "Grafik tidak dikenal.")
        with self.series_lock:
            data = self.series.get((agency_id, days, self.today(), self.db.version()))
        if data is None:  # not right after its page (or the data changed since)
            with self.db.read() as con:
                data = pages.daily_series(con, agency_id, self.today(), days)
        svg = pages.chart_svg(kind, data)
        if svg is None:
            return self.error(request, 404, "Grafik tidak dikenal.")
        return Response(svg, media_type="image/svg+xml", headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=300"})

    def stories(self, request: Request) -> Response:
        q = request.query_params
        f = story_filter(q, self.today())
        with self.db.read() as con:
            data = pages.stories(con, f)
            choices = pages.filter_choices(con, f.since, f.until)
            names = pages.names(con)
        query = {k: v for k, v in q.items() if k != "page" and v}
        return self.render(request, "stories.html", data=data, f=f, last=f.until - dt.timedelta(days=1), choices=choices,
                           names=names, query=query)

    def article(self, request: Request) -> Response:
        with self.db.read() as con:
            data = pages.article(con, request.path_params["article_id"], self.local)
        if data is None:
            return self.error(request, 404, "Artikel tidak ditemukan.")
        return self.render(request, "article.html", a=data, tone_values=pages.TONE_WORDS)

    async def correct(self, request: Request) -> Response:
        user = self.current_user(request)
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf_token", ""))):
            return self.error(request, 403, CSRF_MESSAGE)
        if user is None or not user.may_correct:
            log.warning("correction refused: user %s may not correct", user.name if user else "-")
            return self.error(request, 403, "Akun Anda hanya dapat membaca; koreksi hanya untuk peran analis.")
        article_id = request.path_params["article_id"]

        def write() -> None:
            with self.db.write() as con:
                corrections.record_correction(
                    con, article_id=article_id, agency_id=str(form.get("agency_id") or "") or None,
                    kind=str(form.get("kind", "")), new_value=str(form.get("new_value", "")), user=user.name,
                    note=str(form.get("note") or "") or None)

        try:
            await run_in_threadpool(write)
        except corrections.CorrectionError as exc:
            return self.error(request, 400, f"Koreksi tidak disimpan: {exc}")
        request.session["flash"] = "Koreksi disimpan."
        return RedirectResponse(f"/article/{article_id}", status_code=303)

    def downloads(self, request: Request) -> Response:
        noon = self.local.start_of(self.today()) + dt.timedelta(hours=12)
        weeks = [Week.last_complete(self.local, noon - dt.timedelta(days=7 * i)) for i in range(-1, 12)]
        if request.query_params.get("week"):  # any other week, asked for by its label
            try:
                weeks = [Week.parse(request.query_params["week"])]
            except ValueError:
                return self.error(request, 400, WEEK_MESSAGE)
        return self.render(request, "downloads.html", weeks=weeks, default=Week.last_complete(self.local, noon),
                           kinds=[*DOWNLOADS, "report.html"])

    def download(self, request: Request) -> Response:
        try:
            week = Week.parse(request.path_params["week"])
        except ValueError:
            return self.error(request, 400, WEEK_MESSAGE)
        kind = request.path_params["kind"]
        if kind == "report.html":
            with self.db.read() as con:
                page = render_weekly(con, week, None, local=self.local, followed=self.settings.followed)
            return HTMLResponse(page, headers={**SECURITY_HEADERS, "Content-Disposition":
                                               f'attachment; filename="monitor-report-{week.label}.html"'})
        if kind not in DOWNLOADS:
            return self.error(request, 404, "Jenis unduhan tidak dikenal.")
        fmt, index = DOWNLOADS[kind]
        out = Path(tempfile.mkdtemp(prefix="monitor-download-"))
        try:  # the files are small (a week): read into the response, the folder removed whatever happens
            with self.db.read() as con:
                path = write_weekly(con, week, None, out, fmt, local=self.local)[index]
            body, name = path.read_bytes(), path.name
        finally:
            shutil.rmtree(out, ignore_errors=True)
        media = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                         "Cache-Control": "no-store"})

    # -- sign-in -------------------------------------------------------------------------------------------------
    def login_page(self, request: Request) -> Response:
        if self.users is None:
            return RedirectResponse("/", status_code=303)
        return self.render(request, "login.html", next=safe_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        if self.users is None:
            return RedirectResponse("/", status_code=303)
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf_token", ""))):
            return self.error(request, 403, CSRF_MESSAGE)
        name, password = str(form.get("name", "")).strip().lower(), str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/")))
        if self.throttle.blocked(name):
            log.warning("login refused for %r: too many failures", name)
            return self.render(request, "login.html", status_code=429, next=target,
                               message="Terlalu banyak percobaan gagal. Coba lagi dalam 15 menit.")
        user = self.users.get(name)
        stored = user.password_hash if user else DUMMY_HASH  # an unknown name costs as much as a wrong password
        if not await run_in_threadpool(verify_password, password, stored) or user is None:
            self.throttle.failed(name)
            log.warning("login failed for %r", name)
            return self.render(request, "login.html", status_code=401, next=target, message="Nama atau kata sandi salah.")
        self.throttle.succeeded(name)
        request.session.clear()  # a new session on login (no fixation)
        request.session.update({"user": user.name, "csrf": new_csrf_token(), "sid": self.sessions.start()})
        log.info("login: %s (%s)", user.name, user.role.value)
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request.session.get("csrf"), str(form.get("csrf_token", ""))):
            return self.error(request, 403, CSRF_MESSAGE)
        self.sessions.end(request.session.get("sid"))  # a copy of the cookie stops working too
        request.session.clear()
        return RedirectResponse("/login" if self.users is not None else "/", status_code=303)

    @staticmethod
    def stylesheet(request: Request) -> Response:
        return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.error(request, 404, "Halaman tidak ditemukan.")

    async def busy(self, request: Request, exc: Exception) -> Response:
        log.warning("dashboard: %s", exc)
        saved = "" if request.method == "GET" else " Koreksi belum disimpan."
        return self.error(request, 503, f"Basis data sedang dipakai proses lain (pengambilan berita).{saved} Coba lagi sebentar lagi.")


def story_filter(q: Any, today: dt.date) -> pages.StoryFilter:
    """The stories page's query string as a filter; a value that does not parse falls back to its default."""

    def day(value: str | None, default: dt.date) -> dt.date:
        try:
            parsed = dt.date.fromisoformat(value) if value else default
        except ValueError:
            return default
        return parsed if dt.date(1970, 1, 1) <= parsed <= dt.date(2999, 12, 31) else default

    try:
        page = max(1, min(int(q.get("page", "1")), 1000))
    except ValueError:
        page = 1
    last = day(q.get("until"), today)
    return pages.StoryFilter(
        since=day(q.get("since"), today - dt.timedelta(days=6)), until=last + dt.timedelta(days=1),
        agency=q.get("agency") or None, tone=q.get("tone") if q.get("tone") in pages.TONE_WORDS else None,
        outlet=q.get("outlet") or None, topic=q.get("topic") or None, text=(q.get("q") or "").strip()[:200] or None,
        order=str(q.get("order")) if q.get("order") in pages.ORDERS else "newest", page=page)


class LoginRequired(BaseHTTPMiddleware):
    """With a users file, every path but the login page and the stylesheet needs a signed-in user; others are sent
    to the login page (and back afterwards)."""

    def __init__(self, app: Any, site: Site):
        super().__init__(app)
        self.site = site

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path not in PUBLIC_PATHS and self.site.current_user(request) is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")  # filters kept
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return await call_next(request)


def create_app(settings: WebSettings) -> Starlette:
    """The dashboard as an ASGI app. Raises UsersFileError for a bad users file."""
    site = Site(settings)
    routes = [
        Route("/", site.overview), Route("/agency/{agency_id}", site.agency),
        Route("/agency/{agency_id}/chart/{kind}.svg", site.agency_chart), Route("/stories", site.stories),
        Route("/article/{article_id}", site.article), Route("/article/{article_id}/correct", site.correct, methods=["POST"]),
        Route("/downloads", site.downloads), Route("/downloads/{week}/{kind}", site.download),
        Route("/login", site.login_page), Route("/login", site.login, methods=["POST"]),
        Route("/logout", site.logout, methods=["POST"]), Route("/monitor.css", site.stylesheet),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts),
                  Middleware(SessionMiddleware, secret_key=settings.secret, session_cookie="monitor_session",
                             https_only=settings.secure_cookies, same_site="strict", max_age=SESSION_HOURS * 3600),
                  Middleware(LoginRequired, site=site)]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={404: site.not_found, DatabaseLockedError: site.busy})
