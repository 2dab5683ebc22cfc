"""What every command module shares: exit codes, the common options, and the mapping of the library's errors to
exit codes (used by monitor/cli.py and monitor/cli_web.py; nothing else imports it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from monitor.errors import AnalysisUnavailableError, ConfigError, DatabaseLockedError, RunLockedError

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.localtime import LocalTime

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_BUSY, EXIT_DB_LOCKED = 0, 1, 2, 3, 4

ConfigOption = typer.Option("feeds.yaml", "--config", "-c", envvar="MONITOR_CONFIG", help="Path to feeds.yaml.")
DbOption = typer.Option("data/monitor.duckdb", "--db", envvar="MONITOR_DB", help="Path to the DuckDB file.")
UnitsOption = typer.Option(True, "--units/--no-units", help="Count units (offices, commands, regional parliaments) "
                           "for their parent body too (default), or show each body alone.")


def fail(code: int, message: str) -> typer.Exit:
    """Print `message` on stderr and return the exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def exit_codes(prefix: str = "") -> Iterator[None]:
    """Map the library's errors to the documented exit codes."""
    try:
        yield
    except ConfigError as exc:
        raise fail(EXIT_CONFIG, f"configuration error: {exc}") from None
    except AnalysisUnavailableError as exc:
        raise fail(EXIT_CONFIG, str(exc)) from None
    except RunLockedError as exc:
        raise fail(EXIT_BUSY, f"{prefix}{exc}") from None
    except DatabaseLockedError as exc:
        raise fail(EXIT_DB_LOCKED, f"{prefix}{exc}") from None


def load_config_checked(config_path: str) -> Config:
    from monitor.config import load_config

    with exit_codes():
        return load_config(config_path)


def configured_local_time(config_path: str) -> LocalTime:
    """The configured zone, or the default when there is no config file (read-only commands)."""
    from monitor.localtime import LocalTime, local_time

    return local_time(load_config_checked(config_path).settings) if Path(config_path).exists() else LocalTime()
