"""Command line: parses arguments, sets up logging, calls the library, formats output, and maps the library's
exceptions to exit codes (`exit_codes`). Nothing else; imports are lazy so `monitor --help` stays fast.

Exit codes (also in README):
  0  the run completed (single feeds or pages may have failed: they are recorded, not fatal)
  1  the run failed unexpectedly (see the log and `monitor status`)
  2  bad configuration or usage
  3  another `monitor run` is already running (run lock held)
  4  the database stayed locked by another process: nothing was lost (fetched work is spooled)
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from monitor import __version__
from monitor.cli_common import (
    EXIT_CONFIG,
    EXIT_DB_LOCKED,
    EXIT_FAILED,
    ConfigOption,
    DbOption,
    UnitsOption,
    configured_local_time,
    exit_codes,
    fail,
    load_config_checked,
)
from monitor.cli_web import corrections_app, serve, users_app
from monitor.follow import config_summary, search_feeds_by_agency, search_queries

if TYPE_CHECKING:
    import datetime as dt

    import duckdb

    from monitor.localtime import LocalTime

app = typer.Typer(help="Media monitoring for Indonesian government PR teams.", no_args_is_help=True,
                  add_completion=False)
feeds_app = typer.Typer(help="Check the feeds in feeds.yaml.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
models_app = typer.Typer(help="Train and evaluate the sentiment models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
export_app = typer.Typer(help="Exports for PR heads.", no_args_is_help=True)
app.add_typer(export_app, name="export")
report_app = typer.Typer(help="Readable reports for PR heads.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _setup_logging(verbose: int, quiet: bool, log_file: str | None = None) -> None:
    from monitor.runlog import RunIdFilter

    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.addFilter(RunIdFilter())
    # time, level, job thread, run id, stage (module): "... WARNING [ingest] run=20261128T...-ab12cd monitor.ingest.fetch: ..."
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s [%(threadName)s] run=%(run_id)s %(name)s: %(message)s")


@app.callback()
def main(verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output (-vv for debug)."),
         quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors."),
         log_file: str | None = typer.Option(None, "--log-file", help="Also append the log to this file."),
         version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    """monitor: pull Indonesian news feeds, find agency mentions, keep everything in DuckDB."""
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)
    _setup_logging(verbose, quiet, log_file)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _print_summary(summary: Any) -> None:
    from monitor.runner import summary_lines

    for line, to_stderr in summary_lines(summary):
        typer.echo(line, err=to_stderr)


@app.command()
def run(config: str = ConfigOption, db: str = DbOption,
        force: bool = typer.Option(False, "--force", help="Fetch every feed now, even if it is not due.")) -> None:
    """One pass: fetch due feeds, fetch and extract new pages, dedupe, detect agency mentions, analyse, store."""
    from monitor.runner import execute_run
    from monitor.statuses import RunStatus

    cfg = load_config_checked(config)
    with exit_codes("not started: "), _progress(sys.stdout.isatty()) as progress:
        summary = execute_run(cfg, db, force=force, progress=progress)
    _print_summary(summary)
    if summary.status == RunStatus.DB_LOCKED or summary.spooled_batches:
        raise typer.Exit(EXIT_DB_LOCKED)
    if summary.status == RunStatus.FAILED:
        raise typer.Exit(EXIT_FAILED)


@feeds_app.command("check")
def feeds_check(config: str = ConfigOption,
                fetch: bool = typer.Option(False, "--fetch", help="Probe each feed once over the network."),
                only: list[str] | None = typer.Option(None, "--feed", help="Only these feed names."),
                queries: bool = typer.Option(False, "--queries", help="Print the followed agencies' search queries.")) -> None:
    """Validate feeds.yaml and, with --fetch, probe each feed once (nothing is written; exit 1 if one cannot be read)."""
    cfg = load_config_checked(config)
    if unknown := sorted(set(only or []) - {f.name for f in cfg.feeds}):
        raise fail(EXIT_CONFIG, f"{config}: no feed named {', '.join(unknown)}")
    typer.echo(f"{config}: valid: {config_summary(cfg)}")
    for query_line in (search_queries(cfg.feeds) or ["no agency is followed (settings.follow)"]) if queries else []:
        typer.echo(query_line)
    if not fetch:
        return
    from monitor.ingest.probe import probe_feeds

    failures = unreadable = 0
    for line in probe_feeds(cfg, only):
        failures += line["status"] != "ok"
        unreadable += line["status"] not in ("ok", "stale")  # stale: it answers, only its newest item is old
        typer.echo(f"{line['status']:<11} {line['feed']:<34} {line['detail']}")
    typer.echo(f"{len(cfg.feeds if not only else only) - failures} ok, {failures} not ok")
    if unreadable:  # scripts and monitoring read the exit status
        raise typer.Exit(EXIT_FAILED)


@feeds_app.command("discover")
def feeds_discover(url: str = typer.Argument(..., help="The site, e.g. https://www.antaranews.com"),
                   outlet: str = typer.Option(None, "--outlet", help="Outlet name for the entries (default: the host)."),
                   config: str = ConfigOption) -> None:
    """Find a site's RSS/Atom feeds and sitemaps (page links, robots.txt, common paths), probe each once and print
    ready-to-paste feeds.yaml entries for the ones that work."""
    from monitor.ingest.probe import discover_report

    typer.echo("\n".join(discover_report(load_config_checked(config), url, outlet)))


@app.command()
def status(db: str = DbOption, config: str = ConfigOption,
           format: str = typer.Option("table", "--format", help="table or json")) -> None:
    """Last runs, per-feed health (last success, consecutive failures, next due time) and row counts."""
    from monitor.outputs.status import collect_status, render_status

    if not Path(db).exists():
        raise fail(EXIT_CONFIG, f"no database at {db} yet: run `monitor run` first")
    cfg = load_config_checked(config) if Path(config).exists() else None
    schedule = cfg.settings.schedule if cfg else None
    follows = search_feeds_by_agency(cfg.feeds) if cfg else {}
    with exit_codes():
        report = collect_status(db, exports_dir=schedule.exports_dir if schedule else "data/exports",
                                reports_dir=schedule.reports_dir if schedule else "data/reports", follows=follows)
    if format == "json":
        typer.echo(json.dumps(report, default=str, indent=2))
    else:
        typer.echo(render_status(report, configured_local_time(config)))


@app.command()
def demo(db: str | None = typer.Option(None, "--db", help="Keep the demo database here (default: a temporary file)."),
         workers: int = typer.Option(1, "--workers", help="Extraction worker processes.")) -> None:
    """Offline tour: serve the bundled SAMPLE feeds and pages on 127.0.0.1, run the pipeline, show results."""
    from monitor.dev.demo import run_demo

    with exit_codes():
        code = run_demo(db, workers=workers, echo=typer.echo)
    raise typer.Exit(code)


@app.command()
def analyze(text: str | None = typer.Option(None, "--text", help="Text to score."),
            target: str | None = typer.Option(None, "--target", help="Agency id to judge the tone toward."),
            jsonl: Path | None = typer.Option(None, "--jsonl", help='File of {"text": ..., "target": optional} lines.'),
            target_only: bool = typer.Option(False, "--target-only", help="Only the tone toward each item's target "
                                             "(every item needs one): no document tone or topics, one model pass."),
            config: str = ConfigOption) -> None:
    """Score arbitrary text: tone, probabilities, topics, detected agencies (JSON lines)."""
    from monitor.runner import build_analyzer, matcher, read_text_items, score_texts

    cfg = load_config_checked(config)
    if (text is None) == (jsonl is None):
        raise fail(EXIT_CONFIG, "give exactly one of --text or --jsonl")
    known = {a.id for a in cfg.agencies}
    if jsonl is None and (target and target not in known or target_only and not target):
        raise fail(EXIT_CONFIG, f"unknown agency id {target!r}" if target else "--target-only needs --target")
    try:
        items = [{"text": text, "target": target}] if jsonl is None else read_text_items(jsonl, known, target_only)
    except ValueError as exc:
        raise fail(EXIT_CONFIG, str(exc)) from None
    with exit_codes():
        analyzer = build_analyzer(cfg)
    agency_matcher = matcher(cfg)
    for start in range(0, len(items), 256):  # batched through the model, printed as each chunk is done
        for result in score_texts(analyzer, agency_matcher, items[start:start + 256], target_only):
            typer.echo(json.dumps(result, ensure_ascii=False))


def _day(value: str | None, default: dt.date | None = None) -> dt.date | None:
    import datetime as dt

    if value is None:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(EXIT_CONFIG, f"bad date {value!r}: use YYYY-MM-DD") from None


@app.command()
def reanalyze(db: str = DbOption, config: str = ConfigOption,
              since: str | None = typer.Option(None, "--since", help="YYYY-MM-DD (local day, settings.timezone), inclusive."),
              until: str | None = typer.Option(None, "--until", help="YYYY-MM-DD (local day), exclusive.")) -> None:
    """Re-score stored articles with the current model (idempotent; rows are replaced)."""
    from monitor.localtime import local_time
    from monitor.runner import build_analyzer, open_store, run_lock
    from monitor.runner import reanalyze as run_reanalysis

    cfg = load_config_checked(config)
    local = local_time(cfg.settings)
    first, last = (_day(value) for value in (since, until))
    with exit_codes():
        analyzer = build_analyzer(cfg)
        with run_lock(db):
            count = run_reanalysis(open_store(cfg, db), analyzer, local.start_of(first) if first else None,
                                   local.start_of(last) if last else None)
    typer.echo(f"re-analysed {count} articles with {analyzer.version}")


@models_app.command("train")
def models_train(data: Path = typer.Option(Path("../shared/data/sentiment"), "--data", help="Folder with smsa/ and nusax-ind/."),
                 news: Path = typer.Option(Path("models/data/news_tone.csv"), "--news", help="The project's news tone templates."),
                 kind: str = typer.Option("head", "--kind", help="head: linear head over the engine's embeddings; "
                                          "tone-e5: fine-tune e5-small for tone toward an agency (needs the hf extra)."),
                 out: Path | None = typer.Option(None, "--out", help="Output path (default models/sentiment-e5-small "
                                                    "for head, models/tone-e5 for tone-e5)."),
                 seed: int = typer.Option(13, "--seed", help="tone-e5: random seed."),
                 epochs: int = typer.Option(2, "--epochs", help="tone-e5: passes over the training rows."),
                 max_length: int = typer.Option(64, "--max-length", help="tone-e5: tokens per training input."),
                 class_balance: float = typer.Option(0.0, "--class-balance",
                                                     help="tone-e5: weight whole-text rows by (1/class share)**this."),
                 real_news: Path | None = typer.Option(Path("models/data/real_tone/labels.csv"), "--real-news",
                                                          help="tone-e5: the real-news tone corpus (labels; texts from --news-dir)."),
                 news_dir: Path = typer.Option(Path("../shared/data/news"), "--news-dir", help="tone-e5: IndoSum and idner-news-2k."),
                 train_on_real: bool = typer.Option(True, "--train-on-real/--no-train-on-real",
                                                    help="tone-e5: train on the real-news training split (else only validate and test on it)."),
                 newsmtsc: Path | None = typer.Option(None, "--newsmtsc", help="tone-e5: NewsMTSC folder to add to training."),
                 real_class_balance: float = typer.Option(0.5, "--real-class-balance",
                                                          help="tone-e5: weight real-news rows by (1/class share)**this."),
                 init: Path | None = typer.Option(None, "--init", help="tone-e5: start from this trained model folder (a second stage)."),
                 whole_text_sample: int | None = typer.Option(None, "--whole-text-sample",
                                                              help="tone-e5: train on a seeded sample of this many SmSA+NusaX rows."),
                 templates: bool = typer.Option(True, "--templates/--no-templates", help="tone-e5: use the template news set."),
                 lr: float = typer.Option(8e-5, "--lr", help="tone-e5: peak learning rate."),
                 select_on: str = typer.Option("smsa,news,real", "--select-on",
                                               help="tone-e5: validation sets whose mean macro-F1 chooses the epoch."),
                 corrections: bool = typer.Option(False, "--corrections", help="tone-e5: add the analysts' tone corrections in --db."),
                 db: str = DbOption, config: str = ConfigOption) -> None:
    """Train the sentiment model on SmSA + NusaX + the news tone templates (+ real news, + NewsMTSC for tone-e5)."""
    from monitor.training.train_head import format_report

    cfg = load_config_checked(config)
    if kind == "tone-e5":
        from monitor.training.train_tone import TrainingSources, train_tone_e5

        out = out or Path("models/tone-e5")
        use_real = real_news is not None and real_news.exists() and news_dir.exists()
        if real_news is not None and not use_real:
            typer.echo(f"warning: real-news corpus not used ({real_news} or {news_dir} not found)", err=True)
        sources = TrainingSources(data, news, class_balance, real_news if use_real else None, news_dir if use_real else None,
                                  train_on_real, real_class_balance, newsmtsc, whole_text_sample, templates,
                                  _corrected_items(db) if corrections else ())
        meta = train_tone_e5(sources, out, cfg.agencies, seed=seed, epochs=epochs, max_length=max_length, init=init, lr=lr,
                             select_on=tuple(s.strip() for s in select_on.split(",") if s.strip()))
        typer.echo(f"saved {out}/ (tone.onnx, weights.npz, meta.json) in {meta['train_seconds']} s of training")
    elif kind == "head":
        from monitor.analysis.engines import make_engine
        from monitor.training.train_head import train_sentiment

        out = out or Path("models/sentiment-e5-small")
        meta = train_sentiment(make_engine(cfg.settings), data, news, out)
        typer.echo(f"saved {out}.npz l2={meta['l2']}")
    else:
        raise fail(EXIT_CONFIG, f"unknown --kind {kind!r}: expected head or tone-e5")
    for name, result in meta["metrics"].items():
        typer.echo(format_report(name, result))


def _corrected_items(db: str) -> tuple[tuple[str, str, str], ...]:
    from monitor.db.corrections import tone_items
    from monitor.db.store import Store

    with exit_codes(), Store(db).session(read_only=True) as con:
        items = tone_items(con)
    typer.echo(f"{len(items)} corrected (sentence, agency) items from {db}", err=True)
    return tuple((i["text"], i["label"], i["agency_id"]) for i in items)


@models_app.command("eval")
def models_eval(data: Path = typer.Option(..., "--data", help="TSV text<TAB>label, or CSV with text,label[,target]."),
                config: str = ConfigOption) -> None:
    """Accuracy, macro-F1 and the confusion matrix of the configured sentiment model on a labelled file."""
    from monitor.runner import build_analyzer, matcher
    from monitor.training.train_head import evaluate_file, format_report

    cfg = load_config_checked(config)
    with exit_codes():
        analyzer = build_analyzer(cfg)
    try:
        result = evaluate_file(analyzer, data, matcher(cfg))
    except (OSError, ValueError) as exc:
        raise fail(EXIT_CONFIG, f"{data}: {exc}") from None
    typer.echo(format_report(str(data), result))


def _open_read_only(db: str) -> duckdb.DuckDBPyConnection:
    from monitor.db.store import Store
    from monitor.outputs.queries import read_only_connection

    if not Path(db).exists():
        raise fail(EXIT_CONFIG, f"no database at {db} yet: run `monitor run` first")
    with exit_codes(), Store(db).session():  # bring an older file up to the current schema (views) first
        pass
    try:
        return read_only_connection(db)
    except Exception as exc:  # duckdb lock or I/O error
        raise fail(EXIT_DB_LOCKED, f"cannot open {db} read-only: {str(exc).splitlines()[0]}") from None


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> None:
    from monitor.outputs.queries import render_rows

    typer.echo(render_rows(columns, rows, fmt, terminal=sys.stdout.isatty()), nl=False)


@app.command()
def schedule(config: str = ConfigOption, db: str = DbOption,
             list_jobs: bool = typer.Option(False, "--list", help="Print the jobs and their next run times, then exit.")) -> None:
    """Run the scheduler: ingest every N minutes, a daily digest with alerts, the weekly export and report."""
    from monitor.service.schedule import describe_jobs, serve

    cfg = load_config_checked(config)
    if list_jobs:
        for line in describe_jobs(cfg, db):
            typer.echo(line)
        return
    raise typer.Exit(serve(cfg, db))


@app.command()
def query(name: str = typer.Argument(..., help="daily, share-of-voice, topics, outlets, top-negative, top-positive, weekly, spikes"),
          agency: str | None = typer.Option(None, "--agency", help="Agency id (default: all)."),
          since: str | None = typer.Option(None, "--since", help="YYYY-MM-DD (local day), inclusive; default 28 days ago."),
          until: str | None = typer.Option(None, "--until", help="YYYY-MM-DD (local day), exclusive; default tomorrow."),
          format: str = typer.Option("table", "--format", help="table, csv or json"), db: str = DbOption,
          units: bool = UnitsOption,
          config: str = ConfigOption) -> None:
    """Run a named trend query (parameters are bound, never pasted into SQL)."""
    import datetime as dt

    from monitor.outputs.queries import NAMED, run_named

    if name not in NAMED:
        raise fail(EXIT_CONFIG, f"unknown query {name!r}; known: " + ", ".join(f"{k} ({v[0]})" for k, v in NAMED.items()))
    today = configured_local_time(config).today()
    first = _day(since, today - dt.timedelta(days=28))
    last = _day(until, today + dt.timedelta(days=1))
    from monitor.db.corrections import counts

    con = _open_read_only(db)
    try:
        columns, rows = run_named(con, name, agency, first, last, units)  # type: ignore[arg-type]
        corrected = counts(con, first, last, [agency] if agency else None)  # type: ignore[arg-type]
    finally:
        con.close()
    _print_rows(columns, rows, format)
    if corrected.total:
        typer.echo(corrected.sentence(), err=True)


@app.command()
def sql(statement: str = typer.Argument(..., help="A SELECT statement."), db: str = DbOption,
        format: str = typer.Option("table", "--format", help="table, csv or json")) -> None:
    """Run your own query on a read-only connection with external access (files, network) disabled."""
    import duckdb

    con = _open_read_only(db)
    try:
        cursor = con.execute(statement)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        rows = cursor.fetchall() if columns else []
    except duckdb.Error as exc:
        raise fail(EXIT_CONFIG, f"query failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    _print_rows(columns, rows, format)


def _week_and_agencies(week: str | None, agency: list[str] | None, config: str) -> tuple[Any, list[str] | None, LocalTime]:
    from monitor.localtime import local_time
    from monitor.outputs.export import Week

    cfg = load_config_checked(config)
    local = local_time(cfg.settings)
    known = {a.id for a in cfg.agencies}
    unknown = [a for a in agency or [] if a not in known]
    if unknown:
        raise fail(EXIT_CONFIG, f"unknown agency id(s): {', '.join(unknown)}")
    try:
        return (Week.parse(week) if week else Week.last_complete(local)), (agency or None), local
    except ValueError as exc:
        raise fail(EXIT_CONFIG, str(exc)) from None


@export_app.command("weekly")
def export_weekly(week: str | None = typer.Option(None, "--week", help="ISO week (local time), e.g. 2026-W48 (default: last complete week)."),
                  agency: list[str] | None = typer.Option(None, "--agency", help="Agency id; repeat for several (default: all with mentions)."),
                  out: Path = typer.Option(Path("data/exports"), "--out", help="Output directory."),
                  format: str = typer.Option("csv", "--format", help="csv or xlsx"),
                  units: bool = UnitsOption,
                  db: str = DbOption, config: str = ConfigOption) -> None:
    """Weekly summary per agency and the week's stories, as CSV (UTF-8 with BOM) or XLSX."""
    from monitor.outputs.export import write_weekly

    chosen, agencies, local = _week_and_agencies(week, agency, config)
    if format not in ("csv", "xlsx"):
        raise fail(EXIT_CONFIG, "format must be csv or xlsx")
    con = _open_read_only(db)
    try:
        for path in write_weekly(con, chosen, agencies, out, format, local=local, units=units):
            typer.echo(str(path))
    finally:
        con.close()


@report_app.command("weekly")
def report_weekly(out: Path = typer.Option(..., "--out", help="The file to write (.html or .pdf)."),
                  week: str | None = typer.Option(None, "--week", help="ISO week, local time (default: last complete week)."),
                  agency: list[str] | None = typer.Option(None, "--agency", help="Agency id; repeat for several."),
                  format: str | None = typer.Option(None, "--format", help="html or pdf (default: from the --out suffix)."),
                  units: bool = UnitsOption,
                  db: str = DbOption, config: str = ConfigOption) -> None:
    """The weekly report: the week in three lines, ranked agencies, stories to answer first, then a section per
    followed agency (or --agency); one self-contained HTML file readable on a phone, or an A4 PDF."""
    from monitor.follow import followed_ids
    from monitor.outputs.report import write_weekly_report

    if format is not None and (format not in ("html", "pdf") or out.suffix.lower() != f".{format}"):
        raise fail(EXIT_CONFIG, f"--format {format}: expected html or pdf, with --out ending in .{format}")
    chosen, agencies, local = _week_and_agencies(week, agency, config)
    cfg = load_config_checked(config)
    con = _open_read_only(db)
    try:
        typer.echo(str(write_weekly_report(con, chosen, agencies, out, local=local, units=units,
                                           followed=followed_ids(cfg.settings.follow, cfg.agencies))))
    except ValueError as exc:
        raise fail(EXIT_CONFIG, str(exc)) from None
    finally:
        con.close()


if __name__ == "__main__":  # pragma: no cover
    app()


# the dashboard and the corrections (monitor/cli_web.py; the web extra)
app.command()(serve)
app.add_typer(users_app, name="users")
app.add_typer(corrections_app, name="corrections")
