"""Commands of the dashboard and the corrections (issue 17): `monitor serve`, `monitor users add`,
`monitor corrections export`. Thin like monitor/cli.py; the web layer needs the `[web]` extra."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer

from monitor.cli_common import EXIT_CONFIG, ConfigOption, DbOption, configured_local_time, fail, load_config_checked

users_app = typer.Typer(help="Dashboard users (a YAML file with hashed passwords).", no_args_is_help=True)
corrections_app = typer.Typer(help="Analysts' corrections made on the dashboard.", no_args_is_help=True)
UsersOption = typer.Option(None, "--users", envvar="MONITOR_USERS", help="The users file (monitor users add).")
WEB_EXTRA = 'the dashboard needs the web extra: pip install -e ".[web]"'


def serve(host: str = typer.Option("127.0.0.1", "--host", help="Bind address; anything but loopback needs --users and TLS."),
          port: int = typer.Option(8080, "--port"),
          db: str = DbOption, config: str = ConfigOption, users: Path | None = UsersOption,
          tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate (uvicorn serves HTTPS)."),
          tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
          proxy_tls: bool = typer.Option(False, "--proxy-tls", help="TLS ends at a reverse proxy in front (cookies stay Secure)."),
          server_name: list[str] | None = typer.Option(None, "--server-name", help="A host name the dashboard answers to "
                                                        "(repeatable); without it, loopback names only when there is no --users.")) -> None:
    """The dashboard for the humas team: overview, agencies, stories, articles with corrections, downloads."""
    try:
        import uvicorn

        from monitor.web.app import WebSettings, create_app
        from monitor.web.auth import UsersFileError, answered_hosts, is_loopback, session_secret
    except ImportError:
        raise fail(EXIT_CONFIG, WEB_EXTRA) from None
    from monitor.follow import followed_ids

    loopback = is_loopback(host)
    if proxy_tls and users is None:
        raise fail(EXIT_CONFIG, "--proxy-tls: a reverse proxy brings other machines in, so give --users FILE (monitor users add)")
    if not loopback and users is None:
        raise fail(EXIT_CONFIG, f"--host {host} is not loopback: give --users FILE (monitor users add) so that only "
                                "signed-in users see the dashboard")
    if bool(tls_cert) != bool(tls_key):
        raise fail(EXIT_CONFIG, "--tls-cert and --tls-key go together (the certificate and its private key, PEM)")
    if not loopback and not (tls_cert and tls_key) and not proxy_tls:
        raise fail(EXIT_CONFIG, f"--host {host} is not loopback: session cookies are Secure, so serve HTTPS "
                                "(--tls-cert and --tls-key) or put a TLS reverse proxy in front (--proxy-tls)")
    if not Path(db).exists():
        raise fail(EXIT_CONFIG, f"no database at {db} yet: run `monitor run` (or `monitor demo --db {db}`) first")
    cfg = load_config_checked(config) if Path(config).exists() else None
    if users is not None and not users.is_file():
        raise fail(EXIT_CONFIG, f"no users file at {users}: create it with `monitor users add NAME --role analyst --users {users}`")
    settings = WebSettings(db_path=db, local=configured_local_time(config),
                           followed=followed_ids(cfg.settings.follow, cfg.agencies) if cfg else [],
                           users_file=users, secure_cookies=not loopback or proxy_tls or bool(tls_cert),
                           allowed_hosts=answered_hosts(host, users is not None, server_name or []),
                           lock_timeout_s=cfg.settings.db_lock_timeout_s if cfg else 20.0)
    try:
        settings.secret = session_secret(users)
        app = create_app(settings)
    except UsersFileError as exc:
        raise fail(EXIT_CONFIG, f"users file: {exc}") from None
    scheme = "https" if tls_cert else "http"
    typer.echo(f"monitor dashboard on {scheme}://{host}:{port}/ (Ctrl+C stops it)" if port else
               "monitor dashboard on a free port (uvicorn prints it; Ctrl+C stops it)", err=True)
    uvicorn.run(app, host=host, port=port, ssl_certfile=str(tls_cert) if tls_cert else None,
                ssl_keyfile=str(tls_key) if tls_key else None, proxy_headers=proxy_tls, log_level="warning",
                server_header=False)


@users_app.command("add")
def users_add(name: str = typer.Argument(..., help="Lowercase login name."),
              role: str = typer.Option("viewer", "--role", help="viewer (reads) or analyst (also corrects)."),
              users: Path = typer.Option(Path("users.yaml"), "--users", envvar="MONITOR_USERS", help="The users file."),
              password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin (scripts).")) -> None:
    """Add or replace a dashboard user; the password is stored as an scrypt hash, never in clear."""
    from monitor.web.auth import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        add_user(users, name, role, password)
    except ValueError as exc:
        raise fail(EXIT_CONFIG, str(exc)) from None
    typer.echo(f"{name} ({role}) saved in {users}")


@corrections_app.command("export")
def corrections_export(out: Path = typer.Option(..., "--out", help="CSV file to write."), db: str = DbOption,
                       with_text: bool = typer.Option(False, "--with-text", help="Include the sentences (only where "
                                                      "your licence for the articles allows sharing their text).")) -> None:
    """Tone corrections in force as labelled (sentence, agency) items: ids, label, URL, who and when; the sentence
    text only with --with-text. Only mentions with one sentence (a correction of several sentences labels the
    article's tone, not each sentence)."""
    from monitor.db.corrections import multi_sentence_corrections, tone_items
    from monitor.db.store import Store
    from monitor.outputs.export import neutralise

    if not Path(db).exists():
        raise fail(EXIT_CONFIG, f"no database at {db}")
    with Store(db).session(read_only=True) as con:
        items = tone_items(con)
        left_out = multi_sentence_corrections(con)
    columns = ["article_id", "agency_id", "sentence_index", "label", "url", "user_name", "created_at"] + (["text"] if with_text else [])
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)  # cells made safe to open as the weekly exports are (formulas, control characters)
        writer.writerows([neutralise(item[c]) for c in columns] for item in items)
    typer.echo(f"{len(items)} labelled sentences written to {out}" + (
        f"; {left_out} corrected mentions with several sentences left out (their tone is the article's, not each "
        "sentence's)" if left_out else ""))
