"""The run id in log lines: a context variable set by the ingest run and copied into its worker threads."""

from __future__ import annotations

import contextvars
import logging

CURRENT_RUN: contextvars.ContextVar[str] = contextvars.ContextVar("monitor_run_id", default="-")


class RunIdFilter(logging.Filter):
    """Adds `run_id` (the ingest run in progress in this context, or '-') to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = CURRENT_RUN.get()
        return True
