"""Analysts' corrections (issue 17): the tone toward an agency, a mention that is not that agency, an article that
is not relevant. Each correction is a row of `corrections` (who, when, previous value, new value, note) that is
never replaced or deleted; the newest per (article, agency, kind) applies (view `current_corrections`). The trend
views (monitor/db/views.py) read through them, so every named query, export, report and dashboard page uses the
corrected value; `reanalyze` and a new model version rewrite `mention_tone`, never `corrections`.

Values per kind (`VALUES`): tone → negative | neutral | positive; mention → wrong | right (right undoes wrong);
article → irrelevant | relevant. Errors: `CorrectionError` (a ValueError: the request is wrong, retrying cannot help).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import duckdb

from monitor.db.store import dict_rows, scalar, upsert
from monitor.records import CorrectionRow
from monitor.statuses import CorrectionKind, Tone

log = logging.getLogger(__name__)
VALUES: dict[CorrectionKind, tuple[str, ...]] = {
    CorrectionKind.TONE: tuple(t.value for t in Tone),
    CorrectionKind.MENTION: ("wrong", "right"),
    CorrectionKind.ARTICLE: ("irrelevant", "relevant"),
}
NOTE_MAX_CHARS = 1000


class CorrectionError(ValueError):
    """A correction that cannot be recorded: unknown article or mention, a value outside `VALUES`, no user."""


@dataclass(frozen=True)
class CorrectionCounts:
    """How many values the figures of a period take from analysts: `tone` mentions whose tone was set, `removed`
    mentions left out (marked wrong, or of an article marked irrelevant)."""

    tone: int
    removed: int

    @property
    def total(self) -> int:
        return self.tone + self.removed

    def sentence(self) -> str:
        """'3 values corrected by analysts (2 tones set, 1 mention removed)', or '' when there are none."""
        if not self.total:
            return ""
        return (f"{self.total} value{'s' if self.total != 1 else ''} corrected by analysts "
                f"({self.tone} tone{'s' if self.tone != 1 else ''} set, {self.removed} mention{'s' if self.removed != 1 else ''} removed)")


def current_value(con: duckdb.DuckDBPyConnection, article_id: str, agency_id: str | None, kind: CorrectionKind) -> str | None:
    """What the figures use now: the newest correction's value, else the model's tone (kind tone; None when not
    scored) or 'right' / 'relevant'."""
    corrected = scalar(con, "SELECT any_value(new_value) FROM current_corrections WHERE article_id = ? AND kind = ? AND "
                            "agency_id IS NOT DISTINCT FROM ?", [article_id, kind.value, agency_id])
    if corrected is not None:
        return str(corrected)
    if kind is CorrectionKind.TONE:
        tone = scalar(con, "SELECT any_value(tone) FROM current_tone WHERE article_id = ? AND agency_id = ?", [article_id, agency_id])
        return None if tone is None else str(tone)
    return VALUES[kind][1]


def record_correction(con: duckdb.DuckDBPyConnection, *, article_id: str, agency_id: str | None, kind: str,
                      new_value: str, user: str, note: str | None = None, now: dt.datetime | None = None) -> CorrectionRow:
    """Validate and store one correction (its previous value read in the same transaction); returns the row.

    Raises CorrectionError for an unknown kind or value, an article that does not exist, an agency the article
    does not mention (kinds tone and mention), an agency given for kind article, an empty user or a note over
    NOTE_MAX_CHARS characters."""
    try:
        kind_ = CorrectionKind(kind)
    except ValueError:
        raise CorrectionError(f"unknown correction kind {kind!r}; known: {', '.join(k.value for k in CorrectionKind)}") from None
    if new_value not in VALUES[kind_]:
        raise CorrectionError(f"{kind_.value}: value must be one of {', '.join(VALUES[kind_])}, got {new_value!r}")
    if not user or not user.strip():
        raise CorrectionError("a correction needs the user who made it")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise CorrectionError(f"note is {len(note)} characters; at most {NOTE_MAX_CHARS}")
    if not scalar(con, "SELECT count(*) FROM articles WHERE article_id = ?", [article_id]):
        raise CorrectionError(f"no article {article_id!r}")
    if kind_ is CorrectionKind.ARTICLE:
        if agency_id:
            raise CorrectionError("an article correction names no agency")
        agency_id = None
    elif not agency_id or not scalar(con, "SELECT count(*) FROM mentions WHERE article_id = ? AND agency_id = ?", [article_id, agency_id]):
        raise CorrectionError(f"article {article_id!r} has no mention of agency {agency_id!r}")
    row = CorrectionRow(correction_id="", article_id=article_id, agency_id=agency_id, kind=kind_,
                        previous_value=None, new_value=new_value, note=note, user_name=user.strip(),
                        created_at=now or dt.datetime.now(dt.UTC))
    con.execute("BEGIN TRANSACTION")
    try:
        # zero-padded: the text order of ids is the order of the sequence (the newest correction applies)
        row.correction_id = f"{int(scalar(con, 'SELECT nextval(?)', ['correction_seq'])):012d}"
        row.previous_value = current_value(con, article_id, agency_id, kind_)
        upsert(con, CorrectionRow, [row])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    log.info("correction by %s: %s %s/%s %s -> %s", row.user_name, kind_.value, article_id, agency_id or "-",
             row.previous_value, new_value)
    return row


def history(con: duckdb.DuckDBPyConnection, article_id: str) -> list[dict[str, Any]]:
    """Every correction of one article, newest first."""
    return dict_rows(con, "SELECT * FROM corrections WHERE article_id = ? ORDER BY correction_id DESC", [article_id])


def counts(con: duckdb.DuckDBPyConnection, since: dt.date, until: dt.date, agencies: list[str] | None = None) -> CorrectionCounts:
    """Corrected values behind the figures of local days [since, until) of `agencies` (or all): mentions whose tone
    an analyst set and mentions removed, each counted once — a unit's correction, which changes its parent's figures
    too, is counted for the unit and its parent together, not twice. Starts from the corrections (a few), not from
    the mentions (millions)."""
    scope = ("" if not agencies else
             " AND (list_contains($3, m.agency_id) OR m.agency_id IN (SELECT agency_id FROM agencies WHERE list_contains($3, parent)))")
    params: list[Any] = [since, until] + ([agencies] if agencies else [])
    tone = scalar(con, f"""
        SELECT count(*) FROM current_corrections c JOIN mentions m ON m.article_id = c.article_id AND m.agency_id = c.agency_id
        JOIN articles a ON a.article_id = c.article_id
        WHERE c.kind = 'tone' AND a.local_day >= $1 AND a.local_day < $2{scope}
          AND NOT EXISTS (SELECT 1 FROM removed_mentions r WHERE r.article_id = c.article_id AND r.agency_id = c.agency_id)""", params)
    removed = scalar(con, f"SELECT count(*) FROM removed_mentions m WHERE m.day >= $1 AND m.day < $2{scope}", params)
    return CorrectionCounts(int(tone), int(removed))


_CORRECTED_MENTIONS = """
    WITH c AS (SELECT * FROM current_corrections WHERE kind = 'tone')
    SELECT c.article_id, c.agency_id, c.new_value AS label, c.user_name, c.created_at, a.url,
           CASE WHEN len(coalesce(m.sentences, [])) > 0 THEN m.sentences ELSE [a.title] END AS texts
    FROM c JOIN mentions m USING (article_id, agency_id) JOIN articles a USING (article_id)
    WHERE NOT EXISTS (SELECT 1 FROM removed_mentions r WHERE r.article_id = c.article_id AND r.agency_id = c.agency_id)"""


def tone_items(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Labelled (sentence, agency) items from the tone corrections in force: the mention's one sentence (or its
    title when the agency is named only there). A correction of a mention with several sentences labels the
    article's tone toward the agency, not each sentence (one may be praise, the next criticism), so it gives no
    item (`multi_sentence_corrections` counts them). Mentions removed by a later correction are left out.
    Keys: article_id, agency_id, sentence_index, label, text, url, user_name, created_at."""
    return dict_rows(con, f"""
        WITH s AS ({_CORRECTED_MENTIONS})
        SELECT article_id, agency_id, 0 AS sentence_index, label, texts[1] AS text, url, user_name, created_at
        FROM s WHERE len(texts) = 1 AND texts[1] IS NOT NULL
        ORDER BY created_at, article_id, agency_id""")


def multi_sentence_corrections(con: duckdb.DuckDBPyConnection) -> int:
    """Tone corrections in force of mentions with several sentences (not turned into sentence labels)."""
    return int(scalar(con, f"SELECT count(*) FROM ({_CORRECTED_MENTIONS}) WHERE len(texts) > 1"))
