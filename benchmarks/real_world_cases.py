"""Run the real-world fault cases (../shared/cases) end to end through the real `monitor` CLI and check each one.

Every case folder holds a small feed and pages built after a public bug report, and a README whose **Expected**
section says what monitor must store. For each case this script
1. starts `python3 <cases>/serve.py <folder> <free port>` (127.0.0.1 only; its request log is captured and used to
   count requests),
2. writes a config: the project's feeds.yaml (agencies, regions, topics, settings kept) with `feeds:` replaced by
   the feeds of the README's Reproduce section (port substituted) and the README's settings merged in,
3. runs `monitor -v run --config … --db <new file>` and the case's further commands (a second run, an XLSX
   export, the scheduler),
4. reads the DuckDB file (read-only) and compares the README's expected figures with the stored ones.
It prints `PASS <case>: <figures>` or `FAIL <case>: <what differed>` per case (for a failed case, or with -v,
indented lines list every figure with its expected value; NOTE lines say what was not checked), then
`N/12 cases pass`; the exit status is 1 if any case fails.

    .venv/bin/python benchmarks/real_world_cases.py [--cases DIR] [--only NAME] [--keep DIR] [-v]

--cases: the cases folder (default ../shared/cases from the repository root); --only: run one case;
--keep: keep each case's work folder (config, database, logs, exports) under DIR/<case>.
`google-news-new-links` names news.google.com: a sitecustomize.py on the monitor's PYTHONPATH maps every host
name to 127.0.0.1 (monitor.ingest.fetch.system_resolver calls socket.getaddrinfo), so nothing leaves the machine.
Nothing outside the standard library, duckdb, yaml and openpyxl is used; the monitor code is not imported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import duckdb
import openpyxl
import yaml

ROOT = Path(__file__).resolve().parent.parent
UTC, WIB = dt.UTC, ZoneInfo("Asia/Jakarta")
MONITOR = Path(sys.executable).parent / "monitor"
if not MONITOR.exists():
    MONITOR = ROOT / ".venv" / "bin" / "monitor"
SITECUSTOMIZE = '''import ipaddress, socket
_getaddrinfo = socket.getaddrinfo
def _loopback(host, *args, **kwargs):  # every host name resolves to 127.0.0.1 (real-world case test)
    name = host.decode() if isinstance(host, bytes) else host
    if name:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _loopback
'''


@dataclass
class Case:
    """One case being run: where it is served, its work folder, and the checks collected so far."""

    name: str
    folder: Path
    work: Path
    port: int = 0
    config: Path | None = None
    db: Path | None = None
    env: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)   # (label, actual, expected, ok)
    notes: list = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check(self, label: str, actual, expected, ok: bool | None = None) -> bool:
        ok = (actual == expected) if ok is None else bool(ok)
        self.checks.append((label, actual, expected, ok))
        return ok


# ---------------------------------------------------------------- server, config, monitor ----------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(case: Case, cases_dir: Path) -> subprocess.Popen:
    case.port = free_port()
    log = open(case.work / "serve.log", "w")
    server = subprocess.Popen([shutil.which("python3") or sys.executable, str(cases_dir / "serve.py"),
                               str(case.folder), str(case.port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", case.port), timeout=0.5).close()
            return server
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    raise RuntimeError(f"serve.py did not answer on port {case.port}: {(case.work / 'serve.log').read_text()[-500:]}")


def requests(case: Case, path_prefix: str = "/") -> list[tuple[dt.datetime, str, str]]:
    """(time, method, path) of every request the case server logged, for paths starting with path_prefix."""
    out, today = [], dt.date.today()
    for line in (case.work / "serve.log").read_text(errors="replace").splitlines():
        match = re.match(r"(\d\d):(\d\d):(\d\d) (GET|POST) (\S+)", line)
        if match and match[5].startswith(path_prefix):
            when = dt.datetime.combine(today, dt.time(*map(int, match.groups()[:3]))).astimezone()
            out.append((when, match[4], match[5]))
    return out


def readme_setup(case: Case, substitutions: dict[str, str]) -> dict:
    """The YAML block of the README's Reproduce section (feeds and settings), the port replaced."""
    text = (case.folder / "README.md").read_text(encoding="utf-8")
    section = text.split("## Reproduce", 1)[1].split("\n## ", 1)[0]
    readme_port = re.search(r"serve\.py \S+ (\d+)", section)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)[1].replace(f":{readme_port}", f":{case.port}")
    for placeholder, value in substitutions.items():
        block = block.replace(placeholder, value)
    return yaml.safe_load(block)


def merge(into: dict, new: dict) -> dict:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def write_config(case: Case, substitutions: dict[str, str] | None = None) -> None:
    setup = readme_setup(case, substitutions or {})
    config = yaml.safe_load((ROOT / "feeds.yaml").read_text(encoding="utf-8"))
    merge(config.setdefault("settings", {}), {"allow_private_networks": True, "per_host_gap_s": 0.1})
    merge(config["settings"], setup.get("settings") or {})
    config["feeds"] = setup["feeds"]
    case.config, case.db = case.work / "case.yaml", case.work / "case.duckdb"
    case.config.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def monitor(case: Case, *args: str, timeout: float = 600) -> tuple[int, str]:
    """Run the monitor CLI in the case's work folder; returns (exit status, stdout + stderr), also logged to a file."""
    argv = [str(MONITOR), *args, "--config", str(case.config), "--db", str(case.db)]
    done = subprocess.run(argv, cwd=case.work, env=case.env, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    with open(case.work / "monitor.log", "a") as log:
        log.write(f"$ {' '.join(argv)}\n{output}\n(exit {done.returncode})\n")
    return done.returncode, output


def run_once(case: Case, label: str = "run") -> str:
    rc, output = monitor(case, "-v", "run")
    case.check(f"{label} exit", rc, 0)
    return output


def sql(case: Case, query: str, params=()) -> list[dict]:
    con = duckdb.connect(str(case.db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(query, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def path_of(url: str | None) -> str:
    parts = urlsplit(url or "")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def agencies_of(case: Case, article_id) -> set[str]:
    return {r["agency_id"] for r in sql(case, "SELECT agency_id FROM mentions WHERE article_id = ?", [article_id])}


def entry_articles(case: Case) -> dict[str, dict]:
    """entry path → entry columns plus its article's (prefixed a_)."""
    rows = sql(case, "SELECT e.*, a.status AS a_status, a.status_reason AS a_reason, a.title AS a_title, "
                     "a.published_at AS a_published_at, a.date_source AS a_date_source, a.local_day AS a_local_day, "
                     "a.final_url AS a_final_url, a.text AS a_text, length(a.text) AS a_chars "
                     "FROM entries e LEFT JOIN articles a USING (article_id) ORDER BY e.url")
    return {path_of(r["url"]): r for r in rows}


def utc(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


# ---------------------------------------------------------------- the cases -------------------------------------

def check_dates(case: Case, expected: dict[str, dt.datetime], agency: str) -> None:
    """Feed dates: entry and article published_at, date_status ok, date_source feed, local_day, the agency mention."""
    rows = entry_articles(case)
    for path, when in expected.items():
        row = rows.get(path, {})
        short = path.rsplit("/", 1)[-1]
        case.check(f"{short} entry published_at", row.get("published_at"), when)
        case.check(f"{short} date_status", row.get("date_status"), "ok")
        case.check(f"{short} article published_at", row.get("a_published_at"), when)
        case.check(f"{short} date_source", row.get("a_date_source"), "feed")
        case.check(f"{short} local_day", row.get("a_local_day"), when.astimezone(WIB).date())
        case.check(f"{short} mentions {agency}", agency in agencies_of(case, row.get("article_id")), True)


def feed_date_separator(case: Case) -> None:
    run_once(case)
    check_dates(case, {"/read/2024/12/11/1023/bantuan-banjir": utc(2024, 12, 11, 3, 23),
                       "/read/2024/12/11/1023/pantau-sungai": utc(2024, 12, 11, 3, 23)}, "bnpb")


def month_spellings(case: Case) -> None:
    run_once(case)
    check_dates(case, {"/berita/nop": utc(2024, 11, 6, 3), "/berita/peb": utc(2024, 2, 8, 2, 30),
                       "/berita/mrt": utc(2024, 3, 15, 7), "/berita/kontrol": utc(2024, 11, 6, 3)}, "bmkg")


def google_news_new_links(case: Case) -> None:
    shim = case.work / "resolver"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE)
    case.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), case.env.get("PYTHONPATH")]))
    run_once(case)
    publisher = f"{case.base}/nasional/read/2026/11/30/0805/kpk-periksa-pejabat-dinas"
    rows = sql(case, "SELECT s.feed_id, e.state, e.last_reason, e.article_id, a.status, a.status_reason, a.final_url, "
                     "length(a.text) AS chars FROM entry_sources s JOIN entries e USING (entry_id) "
                     "LEFT JOIN articles a USING (article_id)")
    google = next((r for r in rows if r["feed_id"] == "gn-kpk"), {})
    direct = next((r for r in rows if r["feed_id"] == "kabar-contoh"), {})
    case.check("Google link fetched (GET /rss/articles/…)", len(requests(case, "/rss/articles/")) >= 1, True)
    kpk = sql(case, "SELECT count(*) AS mentions, count(DISTINCT cluster_id) AS stories FROM agency_mentions "
                    "WHERE agency_id = 'kpk' AND day = DATE '2026-11-30'")[0]
    posts = [r for r in requests(case, "/_/DotsSplashUi/data/batchexecute") if r[1] == "POST"]
    case.check("POST batchexecute", len(posts), 1)
    case.check("Google entry final_url", google.get("final_url"), publisher)
    case.check("Google entry article status", google.get("status"), "ok")
    case.check("article chars", google.get("chars"), 499)
    case.check("one article row for both entries", google.get("article_id") == direct.get("article_id"), True)
    case.check("kpk mentions 2026-11-30", kpk["mentions"], 1)
    case.check("kpk stories 2026-11-30", kpk["stories"], 1)


def split_page_article(case: Case) -> None:
    run_once(case)
    pages = [p for _, _, p in requests(case, "/read/")]
    case.check("page requests", pages, "includes …?page=all", any(p.endswith("?page=all") for p in pages))
    row = next(iter(entry_articles(case).items()), ("", {}))
    case.check("entries.url keeps ?page=all", row[0].endswith("?page=all"), True)
    case.check("status", row[1].get("a_status"), "ok")
    case.check("chars", row[1].get("a_chars"), 955)
    found = agencies_of(case, row[1].get("article_id"))
    case.check("mentions", sorted(found), "bnpb and kemenkeu", {"bnpb", "kemenkeu"} <= found)


def brotli_encoding(case: Case) -> None:
    run_once(case)
    feed = (sql(case, "SELECT * FROM feeds WHERE feed_id = 'suara-contoh-br'") or [{}])[0]
    names_br = lambda text: bool(re.search(r"\bbr\b", text or ""))  # noqa: E731
    if feed.get("last_status") == "ok":
        case.check("br feed items_last", feed.get("items_last"), 1)
        entries = sql(case, "SELECT e.url FROM entry_sources s JOIN entries e USING (entry_id) WHERE s.feed_id = 'suara-contoh-br'")
        case.check("br feed entry", [e["url"] for e in entries], [f"{case.base}/berita/vaksinasi"])
    else:
        case.check("br feed failure names the encoding", (feed.get("last_status"), feed.get("last_reason")),
                   "not ok, reason naming br", names_br(feed.get("last_reason")))
        case.check("br feed backed off", feed.get("consecutive_failures"), ">= 1", (feed.get("consecutive_failures") or 0) >= 1)
    page = entry_articles(case).get("/berita/vaksinasi", {})
    if page.get("a_status") is not None or page.get("state") == "done":
        case.check("article status", page.get("a_status"), "ok")
        case.check("article chars", page.get("a_chars"), 467)
        case.check("mentions kemenkes", "kemenkes" in agencies_of(case, page.get("article_id")), True)
    else:
        case.check("page entry kept for retry", (page.get("state"), page.get("last_reason")), "retry, reason naming br",
                   page.get("state") == "retry" and names_br(page.get("last_reason")))


def check_clean_text(case: Case, chars: int, absent: list[str]) -> None:
    articles = sql(case, "SELECT status, text, length(text) AS chars FROM articles")
    case.check("articles", len(articles), 1)
    article = articles[0] if articles else {}
    case.check("status", article.get("status"), "ok")
    case.check("chars", article.get("chars"), chars)
    for phrase in absent:
        case.check(f"'{phrase}' in text", phrase.lower() in (article.get("text") or "").lower(), False)
    case.check("mentions rows", sql(case, "SELECT count(*) AS n FROM mentions")[0]["n"], 0)
    case.check("mention_tone rows", sql(case, "SELECT count(*) AS n FROM mention_tone")[0]["n"], 0)


def inline_related_links(case: Case) -> None:
    run_once(case)
    check_clean_text(case, 597, ["Baca juga", "KPK Tahan Bupati"])


def comment_block(case: Case) -> None:
    run_once(case)
    check_clean_text(case, 549, ["Komentar Pembaca"])


def consent_redirect(case: Case) -> None:
    output = run_once(case)
    summary = re.search(r"(\d+) new, (\d+) duplicates", output)
    case.check("run summary", summary[0] if summary else None, "2 new, 0 duplicates")
    rows = entry_articles(case)
    case.check("entries", len(rows), 2)
    case.check("distinct article ids", len({r["article_id"] for r in rows.values() if r["article_id"]}), 2)
    case.check("article rows", sql(case, "SELECT count(*) AS n FROM articles")[0]["n"], 2)
    for path, title, agency in (("/2026/11/29/kpk-geledah", "KPK geledah kantor dinas perhubungan", "kpk"),
                                ("/2026/11/29/kemenkeu-apbn", "Kemenkeu umumkan realisasi APBN hingga Oktober", "kemenkeu")):
        row, short = rows.get(path, {}), path.rsplit("/", 1)[-1]
        case.check(f"{short} title", row.get("a_title"), title)
        case.check(f"{short} status", (row.get("a_status"), row.get("a_reason")), "not ok, reason consent/interstitial",
                   row.get("a_status") not in (None, "ok") and re.search(r"consent|interstitial", row.get("a_reason") or "", re.I))
        case.check(f"{short} consent text not stored", "menggunakan cookie" in (row.get("a_text") or ""), False)
        case.check(f"{short} mentions {agency}", agency in agencies_of(case, row.get("article_id")), True)


def page_429_retry_after(case: Case) -> None:
    run_once(case, "first run")
    first = requests(case, "/berita/")
    case.check("first run page requests", len(first), "1 (2 at most)", 1 <= len(first) <= 2)
    asked = {path: when for when, _, path in first}
    rows = entry_articles(case)
    case.check("entries", len(rows), 10)
    states = sorted({r["state"] for r in rows.values()})
    case.check("entry states", states, "retry/pending only", set(states) <= {"retry", "pending"})
    given_up = sum(1 for r in rows.values() if r.get("a_status") is not None)
    case.check("articles given up", given_up, 0)
    for path, asked_at in asked.items():  # the log has whole seconds: the wait is measured up to 1 s long
        next_at = rows.get(path, {}).get("next_attempt_at")
        wait = round((next_at - asked_at).total_seconds()) if next_at else None
        case.check(f"{path} next attempt after its 429 (s)", wait, ">= 3600", wait is not None and wait >= 3600)
    run_once(case, "second run")
    case.check("second run page requests", len(requests(case, "/berita/")) - len(first), 0)


def xlsx_control_chars(case: Case) -> None:
    run_once(case)
    rc, output = monitor(case, "export", "weekly", "--week", "2026-W48", "--format", "xlsx", "--out", "out")
    case.check("export exit", rc, 0)
    if rc and output.strip():
        case.notes.append("export output: " + output.strip().splitlines()[-1][:300])
    files = sorted((case.work / "out").glob("*.xlsx")) if (case.work / "out").exists() else []
    case.check("xlsx files", [f.name for f in files], "one monitor-weekly-2026-W48-all-agencies-<stamp>.xlsx",
               len(files) == 1 and files[0].name.startswith("monitor-weekly-2026-W48-all-agencies-"))
    titles = []
    if files:
        book = openpyxl.load_workbook(files[0], read_only=True)
        sheet = book["Berita"] if "Berita" in book.sheetnames else book[book.sheetnames[-1]]
        titles = sorted(str(c) for row in sheet.iter_rows(values_only=True) if "kemenkeu" in row for c in row
                        if isinstance(c, str) and c.startswith("Kemenkeu"))
    clean = [t for t in titles if re.fullmatch(r"Kemenkeu: penerimaan pajak naik Rp 400[ ]?triliun", t)]
    case.check("kemenkeu stories", titles, "both, control character dropped",
               len(clean) == 1 and "Kemenkeu siapkan insentif pajak mobil listrik" in titles)
    row = entry_articles(case).get("/ekonomi/pajak-naik", {})
    case.check("403 article", (row.get("a_status"), row.get("a_reason")), ("fetch_failed", "page fetch failed: HTTP 403"))
    case.check("403 article mentions kemenkeu", "kemenkeu" in agencies_of(case, row.get("article_id")), True)


def page_date_utc(case: Case) -> None:
    run_once(case)
    article = (sql(case, "SELECT published_at, date_source, local_day FROM articles") or [{}])[0]
    case.check("published_at", article.get("published_at"), utc(2026, 11, 28, 18, 30))
    case.check("date_source", article.get("date_source"), "page")
    case.check("local_day", article.get("local_day"), dt.date(2026, 11, 29))


def schedule_missed_slot(case: Case) -> None:
    slot = (dt.datetime.now(WIB) - dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    write_config(case, {"<DAY>": slot.strftime("%a").lower(), "<HM>": slot.strftime("%H:%M")})
    sunday = slot.date() - dt.timedelta(days=slot.isoweekday())
    week = f"{sunday.isocalendar()[0]}-W{sunday.isocalendar()[1]:02d}"
    yesterday = slot.date() - dt.timedelta(days=1)

    def next_weekly(text: str) -> dt.datetime | None:
        match = re.search(r"^\s*weekly\b.*?\bnext (\d{4}-\d\d-\d\d \d\d:\d\d)", text, re.M)
        return dt.datetime.strptime(match[1], "%Y-%m-%d %H:%M").replace(tzinfo=WIB) if match else None

    rc, listing = monitor(case, "schedule", "--list")
    case.check("schedule --list exit", rc, 0)
    listed = next_weekly(listing)
    case.check("--list next weekly", listed and f"{listed:%a %Y-%m-%d %H:%M}", "now, not next week",
               listed is not None and listed < slot + dt.timedelta(days=1))
    log_path = case.work / "schedule.log"
    with open(log_path, "w") as log:
        service = subprocess.Popen([str(MONITOR), "-v", "schedule", "--config", str(case.config), "--db", str(case.db)],
                                   cwd=case.work, env=case.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline and service.poll() is None:
                text = log_path.read_text(errors="replace")
                if re.search(r"\bweekly 20\d\d-W\d\d: ", text) and re.search(r"\bdigest 20\d\d-\d\d-\d\d: ", text):
                    break
                time.sleep(1)
            time.sleep(1)  # let the job record its event after logging
        finally:
            if service.poll() is None:
                service.send_signal(signal.SIGTERM)
            try:
                service.wait(timeout=150)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
    text = log_path.read_text(errors="replace")
    case.check("schedule exit after SIGTERM", service.returncode, 0)
    started = text.split("scheduler started:", 1)[-1] if "scheduler started:" in text else ""
    announced = next_weekly(started)
    case.check("start-up log next weekly", announced and f"{announced:%a %Y-%m-%d %H:%M}", "now, not next week",
               announced is not None and announced < slot + dt.timedelta(days=1))
    exports = case.work / "out" / "exports"
    for part in ("summary", "stories"):
        found = sorted(exports.glob(f"monitor-weekly-{week}-all-agencies-*-{part}.csv")) if exports.exists() else []
        case.check(f"weekly {part}.csv ({week})", len(found), 1)
    case.check(f"report monitor-weekly-{week}.html", (case.work / "out" / "reports" / f"monitor-weekly-{week}.html").exists(), True)
    events = sql(case, "SELECT job, event FROM scheduler_events") if case.db.exists() else []
    case.check("scheduler_events (weekly, written)", sorted({(e["job"], e["event"]) for e in events}),
               "contains ('weekly', 'written')", ("weekly", "written") in {(e["job"], e["event"]) for e in events})
    case.check(f"digest {yesterday} logged", bool(re.search(rf"\bdigest {yesterday}: ", text)), True)


CASES = {
    "feed-date-separator": feed_date_separator, "month-spellings": month_spellings,
    "google-news-new-links": google_news_new_links, "split-page-article": split_page_article,
    "brotli-encoding": brotli_encoding, "inline-related-links": inline_related_links,
    "consent-redirect": consent_redirect, "page-429-retry-after": page_429_retry_after,
    "xlsx-control-chars": xlsx_control_chars, "page-date-utc": page_date_utc, "comment-block": comment_block,
    "schedule-missed-slot": schedule_missed_slot,
}


# ---------------------------------------------------------------- driver ---------------------------------------

def show(value) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")
    return str(value)


def run_case(name: str, cases_dir: Path, work: Path, details: bool = False) -> bool:
    case = Case(name, cases_dir / name, work)
    case.env = {k: v for k, v in os.environ.items()
                if k not in ("MONITOR_CONFIG", "MONITOR_DB") and not k.lower().endswith("_proxy")}
    server = None
    try:
        server = start_server(case, cases_dir)
        if name != "schedule-missed-slot":  # that case sets its slot times at the last moment
            write_config(case)
        CASES[name](case)
    except Exception as exc:  # a crash of the script or of a command is a failed case, not a stopped benchmark
        case.check("case ran", f"{type(exc).__name__}: {exc}", "no error", False)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    failed = [c for c in case.checks if not c[3]]
    if failed:
        print(f"FAIL {name}: " + "; ".join(f"{label}: got {show(a)}, expected {show(e)}" for label, a, e, _ in failed))
    else:
        print(f"PASS {name}: " + "; ".join(f"{label}={show(a)}" for label, a, _, _ in case.checks))
    for label, actual, expected, ok in case.checks if failed or details else ():
        print(f"    {'ok ' if ok else 'BAD'} {label}: {show(actual)} (expected {show(expected)})")
    for note in case.notes:
        print(f"    NOTE {note}")
    sys.stdout.flush()
    return not failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=ROOT.parent / "shared" / "cases", help="the cases folder")
    parser.add_argument("--only", choices=sorted(CASES), help="run this case only")
    parser.add_argument("--keep", type=Path, help="keep each case's work folder under KEEP/<case>")
    parser.add_argument("-v", "--details", action="store_true", help="list every figure with its expected value")
    args = parser.parse_args()
    names = [args.only] if args.only else [n for n in CASES if (args.cases / n).is_dir()]
    missing = [n for n in CASES if not (args.cases / n).is_dir()]
    if missing and not args.only:
        print(f"missing case folders (counted as failures): {', '.join(missing)}")
    base = Path(tempfile.mkdtemp(prefix="real-world-cases-"))
    passed = 0
    try:
        for name in names:
            work = (args.keep.resolve() / name) if args.keep else base / name
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            passed += run_case(name, args.cases.resolve(), work, args.details)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    total = 1 if args.only else len(CASES)
    print(f"{passed}/{total} cases pass")
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
