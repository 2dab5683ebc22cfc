"""The installed `monitor` command, end to end, against a local server."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from monitor.dev.localserver import Reply

from helpers import PARAGRAPHS, ROOT, TEST_SETTINGS, article_html, rss, shipped_register

MONITOR = shutil.which("monitor") or str(Path(sys.executable).parent / "monitor")
HTML = {"Content-Type": "text/html; charset=utf-8"}


def cli(*args, env=None, timeout=120, **kw):
    return subprocess.run([MONITOR, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kw)


def write_config(tmp_path, server, n_articles=6, delay=0.0, **settings):
    titles = []
    items = []
    for i in range(n_articles):
        key = list(PARAGRAPHS)[i % len(PARAGRAPHS)]
        title = f"Berita {i}: {key}"
        paragraphs = [f"Laporan nomor {i} dari redaksi uji."] + PARAGRAPHS[key] + [f"Catatan penutup nomor {i} untuk pembaca."]
        server.routes[f"/a/{i}"] = Reply(200, article_html(title, paragraphs).encode(), HTML, delay_s=delay)
        items.append({"title": title, "link": f"/a/{i}", "date": f"Mon, 23 Nov 2026 {8 + i % 10:02d}:00:00 WIB"})
        titles.append(title)
    server.routes["/rss"] = Reply(200, rss(items), {"Content-Type": "application/rss+xml"})
    raw = shipped_register()
    config = {"settings": {**TEST_SETTINGS, "extract_workers": 1, **settings},
              "feeds": [{"name": "uji", "url": server.url("/rss"), "outlet": "Warta Uji"}],
              "agencies": raw["agencies"], "regions": raw.get("regions", []), "topics": raw["topics"]}
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return {"MONITOR_CONFIG": str(path), "MONITOR_DB": str(tmp_path / "data" / "monitor.duckdb")}


def table(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def registered_commands() -> list[list[str]]:
    """Every command registered on the Typer app, as the words a user types."""
    from monitor.cli import app

    def name(command):
        return command.name or command.callback.__name__.replace("_", "-")

    words = [[name(c)] for c in app.registered_commands]
    for group in app.registered_groups:
        words += [[group.name, name(c)] for c in group.typer_instance.registered_commands]
    return sorted(words)


def test_the_command_list_is_read_from_the_app():
    assert ["run"] in registered_commands() and ["models", "train"] in registered_commands()
    assert len(registered_commands()) == 17


@pytest.mark.parametrize("command", registered_commands(), ids=" ".join)
def test_every_command_has_help_and_is_documented(command):
    from typer.testing import CliRunner

    from monitor.cli import app

    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"monitor {' '.join(command)}" in readme


def test_feeds_discover_prints_ready_to_paste_entries_and_feeds_check_counts_followed_agencies(server, tmp_path):
    from typer.testing import CliRunner

    from monitor.cli import app

    env = write_config(tmp_path, server, n_articles=1, follow=["kpk"])
    server.routes["/"] = Reply(200, b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss">'
                                    b"</head><body>Beranda</body></html>", HTML)
    result = CliRunner().invoke(app, ["feeds", "discover", server.base, "--outlet", "Warta Uji"], env=env)
    assert result.exit_code == 0, result.output
    assert f"ok  rss      {server.base}/rss  [link rel=alternate]" in result.output
    entries = yaml.safe_load(result.output.split("# feeds.yaml entries:")[1])
    assert entries[0]["url"] == f"{server.base}/rss" and entries[0]["outlet"] == "Warta Uji"
    check = CliRunner().invoke(app, ["feeds", "check"], env=env)
    assert check.exit_code == 0 and "; 1 of the feeds search for 1 followed agencies" in check.output
    queries = CliRunner().invoke(app, ["feeds", "check", "--queries"], env=env)
    assert queries.exit_code == 0 and queries.output.splitlines()[1].startswith("follow-kpk ")
    assert 'when:1d "Komisi Pemberantasan Korupsi" OR "KPK"' in queries.output
    unknown = CliRunner().invoke(app, ["feeds", "check", "--fetch", "--feed", "tidak-ada"], env=env)
    assert unknown.exit_code == 2 and "no feed named tidak-ada" in unknown.output


@pytest.mark.slow
def test_run_end_to_end_then_status(server, tmp_path):
    env = write_config(tmp_path, server)
    result = cli("run", env=env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"feeds: 1 due, 1 ok, 0 not modified, 0 failed", result.stdout)
    # items 4 and 5 reuse the text of items 0 and 1 (with their own first and last lines): near-duplicates
    assert "articles: 4 new, 2 duplicates" in result.stdout
    db = Path(env["MONITOR_DB"])
    assert table(db, "SELECT count(*) FROM articles WHERE status = 'ok'") == [(6,)]
    assert table(db, "SELECT count(DISTINCT agency_id) FROM mentions")[0][0] >= 6
    assert "\x1b[" not in result.stdout  # no colour or progress bar when not a terminal
    status = cli("status", env=env)
    assert status.returncode == 0 and "uji" in status.stdout and "articles 6" in status.stdout
    report = json.loads(cli("status", "--format", "json", env=env).stdout)
    assert report["counts"]["articles"] == 6 and report["runs"][0]["status"] == "ok"


@pytest.mark.slow
def test_config_error_exits_2_and_names_file_entry_field(tmp_path):
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - {name: x, url: 'file:///etc/passwd', outlet: y}\n", encoding="utf-8")
    result = cli("run", "--config", str(bad), "--db", str(tmp_path / "m.duckdb"))
    assert result.returncode == 2
    assert f"{bad}: feeds[0] (name='x'): url:" in result.stderr
    assert not (tmp_path / "m.duckdb").exists()  # nothing written


@pytest.mark.slow
def test_second_run_exits_at_once_while_one_is_running(server, tmp_path):
    env = write_config(tmp_path, server, n_articles=6, delay=1.0)
    first = subprocess.Popen([MONITOR, "run"], env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while not server.hits("/rss") and time.time() < deadline:
            time.sleep(0.05)
        started = time.time()
        second = cli("run", env=env)
        assert second.returncode == 3 and "another monitor run is in progress (pid" in second.stderr
        assert time.time() - started < 10
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0


@pytest.mark.slow
def test_feeds_check_validates_and_probes(server, tmp_path):
    env = write_config(tmp_path, server)
    result = cli("feeds", "check", env=env)
    assert result.returncode == 0 and "valid: 1 feeds from 1 outlets" in result.stdout
    probed = cli("feeds", "check", "--fetch", env=env)
    assert probed.returncode == 0 and "ok" in probed.stdout and "rss20, 6 items" in probed.stdout
    server.routes["/rss"] = Reply(500, b"")
    failing = cli("feeds", "check", "--fetch", env=env)
    assert failing.returncode == 1 and "0 ok, 1 not ok" in failing.stdout


@pytest.mark.slow
def test_shipped_feeds_yaml_validates():
    result = cli("feeds", "check", "--config", str(ROOT / "feeds.yaml"))
    assert result.returncode == 0 and "50 feeds" in result.stdout


@pytest.mark.slow
def test_demo_runs_offline():
    result = cli("demo", timeout=180)
    assert result.returncode == 0, result.stderr
    assert "SAMPLE" in result.stdout and "run: ok" in result.stdout
    assert re.search(r"kpk\s+2 articles\s+1 stories\s+2 in title\s+tone \d/\d/\d", result.stdout)
    assert "Article tone and topics:" in result.stdout


@pytest.mark.slow
def test_the_demo_run_again_on_its_database_adds_nothing(tmp_path):
    db = tmp_path / "demo.duckdb"
    first = cli("demo", "--db", str(db), timeout=180)
    articles = table(db, "SELECT count(*) FROM articles")
    again = cli("demo", "--db", str(db), timeout=180)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    if "is taken" not in again.stdout:  # another program holds the demo port: the warning says what happens
        assert table(db, "SELECT count(*) FROM articles") == articles and "0 new articles" in again.stdout


def snapshot(db):
    return (table(db, "SELECT article_id, title, status, cluster_id, same_text_as, published_at FROM articles ORDER BY 1"),
            table(db, "SELECT article_id, agency_id, mention_count, in_title, in_lead, sentences FROM mentions ORDER BY 1, 2"),
            table(db, "SELECT entry_id, state, article_id FROM entries ORDER BY 1"),
            table(db, "SELECT article_id, tone, round(p_positive, 6), topics FROM article_analysis ORDER BY 1"),
            table(db, "SELECT article_id, agency_id, tone, round(p_negative, 6) FROM mention_tone ORDER BY 1, 2"))


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_s", [0.6, 1.6, 3.0])
def test_kill_9_at_any_point_then_rerun_equals_a_clean_run(server, tmp_path, kill_after_s):
    clean_env = write_config(tmp_path, server, n_articles=8, delay=0.15, page_batch_size=3)
    clean_dir = tmp_path / "clean"
    clean_env["MONITOR_DB"] = str(clean_dir / "monitor.duckdb")
    assert cli("run", env=clean_env).returncode == 0
    env = {**clean_env, "MONITOR_DB": str(tmp_path / "crash" / "monitor.duckdb")}
    proc = subprocess.Popen([MONITOR, "run"], env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_after_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = cli("run", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert snapshot(env["MONITOR_DB"]) == snapshot(clean_env["MONITOR_DB"])
    runs = table(env["MONITOR_DB"], "SELECT status, finished_at IS NULL FROM runs ORDER BY started_at")
    if len(runs) == 2:  # killed after the run was logged: the interrupted run stays visible
        assert runs[0] == ("running", True) and runs[1][0] == "ok"


@pytest.mark.slow
def test_analysis_is_stored_by_run_and_reanalysis_is_idempotent(server, tmp_path):
    env = write_config(tmp_path, server)
    assert cli("run", env=env).returncode == 0
    db = Path(env["MONITOR_DB"])
    rows = table(db, "SELECT count(*), count(DISTINCT model_version), min(p_negative + p_neutral + p_positive) FROM article_analysis")
    assert rows[0][0] == 6 and rows[0][1] == 1 and abs(rows[0][2] - 1) < 1e-6
    mentions = table(db, "SELECT count(*) FROM mentions")[0][0]
    assert table(db, "SELECT count(*) FROM mention_tone")[0][0] == mentions
    before = table(db, "SELECT article_id, tone, round(p_negative, 6) FROM article_analysis ORDER BY 1")
    result = cli("reanalyze", "--since", "2026-11-01", env=env)
    assert result.returncode == 0 and "re-analysed 6 articles" in result.stdout
    assert table(db, "SELECT article_id, tone, round(p_negative, 6) FROM article_analysis ORDER BY 1") == before


@pytest.mark.slow
def test_analyze_command_text_target_and_jsonl(tmp_path):
    result = cli("analyze", "--text", "Warga mengeluhkan pelayanan Kemenkes yang lambat dan berbelit.", "--target", "kemenkes",
                 "--config", str(ROOT / "feeds.yaml"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["agencies"] == ["kemenkes"] and out["target"]["agency_id"] == "kemenkes"
    assert set(out["probabilities"]) == {"negative", "neutral", "positive"} and out["label"] in out["probabilities"]
    assert out["model_version"].startswith("onnx-e5:")
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"text": "BMKG memprakirakan hujan lebat."}\n{"text": "KPK menahan tersangka.", "target": "kpk"}\n', encoding="utf-8")
    result = cli("analyze", "--jsonl", str(lines), "--config", str(ROOT / "feeds.yaml"))
    assert [json.loads(line)["agencies"] for line in result.stdout.splitlines()] == [["bmkg"], ["kpk"]]
    bad = cli("analyze", "--text", "x", "--target", "tidak-ada", "--config", str(ROOT / "feeds.yaml"))
    assert bad.returncode == 2 and "unknown agency id" in bad.stderr
    only = cli("analyze", "--jsonl", str(lines), "--target-only", "--config", str(ROOT / "feeds.yaml"))
    assert only.returncode == 2 and f"{lines}:1: no 'target'" in only.stderr and not only.stdout
    alone = cli("analyze", "--text", "KPK menahan tersangka.", "--target-only", "--config", str(ROOT / "feeds.yaml"))
    assert alone.returncode == 2 and "--target-only needs --target" in alone.stderr
    lines.write_text('{"text": "KPK menahan tersangka.", "target": "kpk"}\n', encoding="utf-8")
    only = cli("analyze", "--jsonl", str(lines), "--target-only", "--config", str(ROOT / "feeds.yaml"))
    out = json.loads(only.stdout)
    assert only.returncode == 0 and out["target"]["agency_id"] == "kpk" and "topics" not in out and "label" not in out


@pytest.mark.slow
def test_models_eval_prints_metrics_and_confusion(tmp_path):
    data = tmp_path / "labelled.csv"
    data.write_text("text,label\nPelayanan rumah sakit itu sangat memuaskan,positive\n"
                    "\"Saya kecewa, antreannya lama sekali\",negative\nRapat digelar besok pagi,neutral\n", encoding="utf-8")
    result = cli("models", "eval", "--data", str(data), "--config", str(ROOT / "feeds.yaml"))
    assert result.returncode == 0, result.stderr
    assert re.search(r"n=3 accuracy=\d\.\d{3} macro-F1=\d\.\d{3}", result.stdout) and "confusion" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhalo,senang\n", encoding="utf-8")
    assert cli("models", "eval", "--data", str(bad), "--config", str(ROOT / "feeds.yaml")).returncode == 2


@pytest.mark.slow
def test_query_sql_export_and_report_commands(tmp_path):
    from test_outputs import build

    db = build(tmp_path)
    env = {"MONITOR_DB": db, "MONITOR_CONFIG": str(ROOT / "feeds.yaml")}
    daily = cli("query", "daily", "--agency", "kpk", "--since", "2026-11-23", "--until", "2026-11-30", "--format", "json", env=env)
    assert daily.returncode == 0, daily.stderr
    assert [json.loads(line)["mentions"] for line in daily.stdout.splitlines()] == [1, 1, 1]
    assert cli("query", "nope", env=env).returncode == 2
    csv_out = cli("sql", "SELECT agency_id, count(*) AS n FROM mentions GROUP BY 1 ORDER BY 1", "--format", "csv", env=env)
    assert csv_out.stdout.splitlines() == ["agency_id,n", "kpk,4", "polri,36"]
    refused = cli("sql", "DELETE FROM articles", env=env)
    assert refused.returncode == 2 and "read-only" in refused.stderr
    export = cli("export", "weekly", "--week", "2026-W48", "--agency", "kpk", "--out", str(tmp_path / "exp"), "--format", "xlsx", env=env)
    assert export.returncode == 0 and export.stdout.strip().endswith(".xlsx") and "2026-W48-kpk" in export.stdout
    assert cli("export", "weekly", "--week", "2026-48", env=env).returncode == 2
    assert cli("export", "weekly", "--agency", "tidak-ada", env=env).returncode == 2
    report = cli("report", "weekly", "--week", "2026-W48", "--out", str(tmp_path / "laporan.html"), env=env)
    assert report.returncode == 0 and "id='peringkat'" in (tmp_path / "laporan.html").read_text(encoding="utf-8")
    pdf = cli("report", "weekly", "--week", "2026-W48", "--agency", "polri", "--format", "pdf", "--out",
              str(tmp_path / "laporan.pdf"), env=env)
    assert pdf.returncode == 0 and (tmp_path / "laporan.pdf").read_bytes()[:5] == b"%PDF-"
    mismatch = cli("report", "weekly", "--format", "pdf", "--out", str(tmp_path / "x.html"), env=env)
    assert mismatch.returncode == 2 and "--format pdf: expected html or pdf, with --out ending in .pdf" in mismatch.stderr


@pytest.mark.slow
def test_log_lines_carry_time_level_run_id_and_stage(server, tmp_path):
    env = write_config(tmp_path, server, n_articles=1)
    server.routes["/bad"] = Reply(500, b"")
    config = yaml.safe_load(Path(env["MONITOR_CONFIG"]).read_text(encoding="utf-8"))
    config["feeds"].append({"name": "rusak", "url": server.url("/bad"), "outlet": "Uji"})
    Path(env["MONITOR_CONFIG"]).write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    log_file = tmp_path / "monitor.log"
    result = cli("-vv", "--log-file", str(log_file), "run", env=env)
    assert result.returncode == 0
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert any(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) \[[^\]]+\] run=\d{8}T\d{6}Z-[0-9a-f]{6} monitor\.[\w.]+: ", line)
               for line in lines)


@pytest.mark.slow
def test_status_shows_last_export_and_report(tmp_path):
    from test_outputs import build

    db = build(tmp_path)
    config = tmp_path / "feeds.yaml"
    config.write_text(yaml.safe_dump({"settings": {"schedule": {"exports_dir": str(tmp_path / "e"), "reports_dir": str(tmp_path / "r")}}}),
                      encoding="utf-8")
    env = {"MONITOR_DB": db, "MONITOR_CONFIG": str(config)}
    assert "last export: none yet" in cli("status", env=env).stdout
    cli("export", "weekly", "--week", "2026-W48", "--out", str(tmp_path / "e"), env=env)
    cli("report", "weekly", "--week", "2026-W48", "--out", str(tmp_path / "r" / "laporan.html"), env=env)
    report = json.loads(cli("status", "--format", "json", env=env).stdout)
    assert report["last_export"]["path"].endswith("-stories.csv") or report["last_export"]["path"].endswith("-summary.csv")
    assert report["last_report"]["path"].endswith("laporan.html") and report["database_bytes"] > 0
