"""The project's exception tree.

    MonitorError
    ├── ConfigError              feeds.yaml is invalid (names file, entry, field); nothing is written
    ├── RunLockedError           another `monitor run` holds the run lock
    ├── DatabaseLockedError      another process holds the DuckDB file after all retries
    ├── AnalysisUnavailableError the configured analysis model cannot be loaded (names the file or setting)
    └── FetchError               one HTTP fetch failed; carries a short `reason`
        ├── RetryableFetchError  worth trying again later: timeouts, 5xx, 429, connection resets, a content coding
        │   │                    that cannot be decoded
        │   └── RateLimitedError 429/503 with an optional Retry-After delay
        │       └── HostHeldError   nothing was sent: the host asked (Retry-After) to be left alone until then
        └── PermanentFetchError  retrying will not help: 4xx, blocked address, bad scheme,
            ├── BlockedAddressError   private/loopback/link-local target refused
            └── TooLargeError         decoded body above the cap

Stages never raise these for a single bad item: they turn them into status + reason rows.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error the monitor raises on purpose."""


class ConfigError(MonitorError):
    """feeds.yaml could not be loaded or validated."""


class RunLockedError(MonitorError):
    """Another run holds the run lock."""


class DatabaseLockedError(MonitorError):
    """The DuckDB file stayed locked by another process after all retries."""


class AnalysisUnavailableError(MonitorError):
    """The analysis stage is enabled but its model cannot be loaded; nothing was fetched or written."""


class FetchError(MonitorError):
    """An HTTP fetch failed. `reason` is short and stored as data."""

    retryable = False

    def __init__(self, reason: str, *, status_code: int | None = None, body: bytes = b""):
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.body = body  # the start of a refusal page (401/403), to tell a bot wall from a plain refusal


class RetryableFetchError(FetchError):
    retryable = True


class RateLimitedError(RetryableFetchError):
    def __init__(self, reason: str, *, status_code: int | None = None, retry_after: float | None = None,
                 body: bytes = b""):
        super().__init__(reason, status_code=status_code, body=body)
        self.retry_after = retry_after


class HostHeldError(RateLimitedError):
    """No request was sent: an earlier 429/503 Retry-After holds the whole host until `retry_after` seconds from now."""


class PermanentFetchError(FetchError):
    retryable = False


class BlockedAddressError(PermanentFetchError):
    pass


class TooLargeError(PermanentFetchError):
    pass
