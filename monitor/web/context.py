"""What the dashboard's pages share: the settings `monitor serve` was started with, the paced database
connections, the templates' environment, the stylesheet and the security headers (monitor/web/app.py has the
design and the pages)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape

from monitor.db.store import Store
from monitor.localtime import LocalTime
from monitor.outputs.export import clean_text
from monitor.outputs.report import CSS
from monitor.web import pages

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
.narrow-form form{display:flex;flex-direction:column;gap:8px}.charts{display:flex;flex-wrap:wrap;gap:10px}.charts img.chart{flex:1 1 300px}
details.more summary{cursor:pointer;color:#0b57d0;font-size:.9rem;margin:4px 0}
table.downloads th:first-child,table.downloads td:first-child{width:40%;text-align:left}table.downloads td{overflow-wrap:normal;text-align:center}
table.downloads th{text-align:center;font-size:.72rem}
@media screen and (max-width:480px){.narrow-hide{display:none}th:first-child,td:first-child{width:55%}}
"""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# correction kinds and values as the pages say them
WORDS = {**pages.TONE_WORDS, "tone": "nada", "mention": "sebutan", "article": "artikel", "wrong": "salah sebut",
         "right": "benar", "irrelevant": "tidak relevan", "relevant": "relevan"}
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
    # Host header values answered (DNS rebinding: a page elsewhere must not reach a loopback dashboard through a
    # name that resolves to 127.0.0.1); ["*"] answers any
    allowed_hosts: list[str] = field(default_factory=lambda: ["*"])
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

    def version(self) -> tuple[int, ...]:
        """Changes with every committed write (the file or its write-ahead log): a key for results kept between
        requests."""
        stamps: list[int] = []
        for path in (Path(self.store.path), Path(str(self.store.path) + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                stamps += [stat.st_mtime_ns, stat.st_size]
        return tuple(stamps)

    def read(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self._held(read_only=True)

    def write(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self._held(read_only=False)


def environment(local: LocalTime) -> Environment:
    """Jinja2 with autoescape on every template, and the filters the templates use."""
    env = Environment(loader=PackageLoader("monitor.web", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["clean"] = lambda v: clean_text(str(v)) if v is not None else ""
    env.filters["tone_word"] = lambda v: pages.TONE_WORDS.get(v, "belum dinilai") if v else "belum dinilai"
    env.filters["signed"] = lambda v, digits=0: "–" if v is None else (f"{v:+.{digits}f}".replace("-", "−"))
    env.filters["word"] = lambda v: WORDS.get(v, v) if v else "–"
    env.filters["pct"] = lambda v: "–" if v is None else f"{v * 100:.0f}%"
    env.filters["local"] = lambda ts: local.local(ts).strftime("%d/%m/%Y %H:%M") if ts else "–"
    env.filters["http_only"] = lambda url: url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
    return env




def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host): an open redirect through the login page is refused."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
