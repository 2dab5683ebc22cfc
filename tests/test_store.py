import datetime as dt
import subprocess
import sys
import textwrap

import duckdb
import pytest

from monitor.db.store import SCHEMA_VERSION, Store, counts, migrate, write_batch
from monitor.errors import DatabaseLockedError

from helpers import batch

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def article(article_id: str, title: str = "Judul") -> dict:
    return {"article_id": article_id, "url": f"https://contoh.test/{article_id}", "title": title, "status": "ok",
            "published_at": NOW, "fetched_at": NOW, "minhash": [1, 2, 2**63 + 7], "cluster_id": article_id}


def test_migrations_are_idempotent_and_versioned(tmp_path):
    store = Store(tmp_path / "m.duckdb")
    with store.session() as con:
        assert migrate(con) == SCHEMA_VERSION
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    with store.session() as con:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    with Store(path).session() as con:
        con.execute("INSERT INTO schema_version VALUES (99, now())")
    with pytest.raises(RuntimeError, match="newer than this monitor"):
        with Store(path).session():
            pass


def test_upserts_are_idempotent_and_duplicate_keys_in_one_batch_keep_the_last(tmp_path):
    store = Store(tmp_path / "u.duckdb")
    rows = batch(articles=[article("a1", "pertama"), article("a2"), article("a1", "kedua")],
                 mentions=[{"article_id": "a1", "agency_id": "kpk", "mention_count": 2, "in_title": True, "in_lead": False,
                            "forms": ["KPK"], "sentences": ["KPK menahan tersangka."], "legacy_name": False}])
    store.write(rows)
    store.write(rows)
    with store.session(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
        assert con.execute("SELECT title FROM articles WHERE article_id = 'a1'").fetchone()[0] == "kedua"
        assert con.execute("SELECT minhash[3] FROM articles WHERE article_id = 'a1'").fetchone()[0] == 2**63 + 7
        assert con.execute("SELECT sentences FROM mentions").fetchone()[0] == ["KPK menahan tersangka."]


def test_mentions_of_a_rewritten_article_are_replaced_not_merged(tmp_path):
    store = Store(tmp_path / "r.duckdb")
    mention = {"article_id": "a1", "mention_count": 1, "in_title": False, "in_lead": False, "forms": [], "sentences": [],
               "legacy_name": False}
    store.write(batch(articles=[article("a1")], mentions=[{**mention, "agency_id": "kpk"}]))
    store.write(batch(articles=[article("a1")], mentions=[{**mention, "agency_id": "polri"}]))
    with store.session(read_only=True) as con:
        assert con.execute("SELECT agency_id FROM mentions").fetchall() == [("polri",)]


def test_entries_are_not_reset_by_rediscovery(tmp_path):
    store = Store(tmp_path / "e.duckdb")
    entry = {"entry_id": "e1", "url": "https://contoh.test/1", "state": "pending", "attempts": 0}
    store.write(batch(entries=[entry]))
    store.write(batch(entry_updates=[{"entry_id": "e1", "state": "done", "attempts": 1, "article_id": "a1"}]))
    store.write(batch(entries=[entry]))  # the same item seen again in the next feed fetch
    with store.session(read_only=True) as con:
        assert con.execute("SELECT state, article_id FROM entries").fetchone() == ("done", "a1")


def test_failed_batch_is_rolled_back_whole(tmp_path):
    store = Store(tmp_path / "t.duckdb")
    with pytest.raises(duckdb.ConversionException):
        store.write(batch(articles=[article("a1")], mentions=[{"article_id": "a1", "agency_id": "kpk", "mention_count": "banyak"}]))
    with store.session(read_only=True) as con:
        assert counts(con)["articles"] == 0


HOLD_LOCK = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
""")


@pytest.fixture
def analyst_session(tmp_path):
    """Another process holding a read-only session (as an analyst would)."""
    path = tmp_path / "locked.duckdb"
    with Store(path).session():
        pass
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), "30"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    yield path
    proc.kill()
    proc.wait()


@pytest.mark.slow
def test_locked_database_is_retried_then_reported_with_the_holder(analyst_session):
    slept = []
    store = Store(analyst_session, lock_timeout_s=2.0, sleep=lambda s: slept.append(s))
    with pytest.raises(DatabaseLockedError, match=r"is locked by PID \d+"):
        store.write(batch(articles=[article("a1")]))
    assert slept[:5] == [0.1, 0.2, 0.4, 0.8, 1.0]  # short polls (readers hold the file briefly), doubling up to 1 s


@pytest.mark.slow
def test_locked_database_spools_and_the_next_write_replays(analyst_session, tmp_path):
    store = Store(analyst_session, lock_timeout_s=0.0)
    assert store.write_or_spool(batch(articles=[article("a1")])) is False
    spooled = list(store.spool_dir.glob("*.json"))
    assert len(spooled) == 1
    unlocked = Store(tmp_path / "other.duckdb", spool_dir=store.spool_dir)
    assert unlocked.replay_spool() == 1
    with unlocked.session(read_only=True) as con:
        assert con.execute("SELECT article_id, published_at FROM articles").fetchone() == ("a1", NOW)
    assert not list(store.spool_dir.glob("*.json"))


def test_upgrade_from_v6_fills_the_stored_wib_day_and_writes_keep_it(tmp_path):
    """A v6 database (no articles.local_day) is upgraded: existing rows get their WIB day, views use it,
    and a later write sets it (23:30 UTC is the next day in Jakarta)."""
    path = tmp_path / "old.duckdb"
    store = Store(path)
    with store.session() as con:
        con.execute("DROP VIEW IF EXISTS agency_spikes; DROP VIEW IF EXISTS agency_weekly; DROP VIEW IF EXISTS agency_stories;"
                    "DROP VIEW IF EXISTS agency_outlets; DROP VIEW IF EXISTS agency_topic_daily; DROP VIEW IF EXISTS share_of_voice;"
                    "DROP VIEW IF EXISTS agency_daily; DROP VIEW IF EXISTS agency_mentions")
        con.execute("ALTER TABLE articles DROP COLUMN local_day")
        con.execute("DELETE FROM schema_version WHERE version > 6")
        late = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC)
        con.execute("INSERT INTO articles (article_id, url, status, published_at, fetched_at) VALUES ('old', 'u', 'ok', ?, ?)",
                    [late, late])
        con.execute("INSERT INTO mentions (article_id, agency_id, mention_count) VALUES ('old', 'kpk', 1)")
    with Store(path).session() as con:  # opening migrates
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("SELECT local_day FROM articles WHERE article_id = 'old'").fetchone()[0] == dt.date(2026, 11, 23)
        assert con.execute("SELECT day, mentions FROM agency_daily").fetchall() == [(dt.date(2026, 11, 23), 1)]
        write_batch(con, batch(articles=[{**article("new"), "published_at": dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC)}]))
        assert con.execute("SELECT local_day FROM articles WHERE article_id = 'new'").fetchone()[0] == dt.date(2026, 11, 25)


def test_upgrade_from_v8_keeps_every_row_and_adds_the_status_checks(tmp_path):
    """A v8 database written by the previous release (status columns without CHECK constraints) is rebuilt in
    place by v9: rows and keys survive, and a status outside its enum is refused from then on."""
    from monitor.db.store import MIGRATIONS

    path = tmp_path / "v8.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)")
    for migration in MIGRATIONS[:8]:
        if "-- @views" not in migration.sql:
            con.execute(migration.sql.format(local_day="CAST(timezone('Asia/Jakarta', coalesce(published_at, fetched_at)) AS DATE)"))
        con.execute("INSERT INTO schema_version VALUES (?, now())", [migration.version])
    con.execute("INSERT INTO articles (article_id, url, status, published_at, fetched_at, local_day) "
                "VALUES ('a1', 'u', 'ok', ?, ?, DATE '2026-11-23')", [NOW, NOW])
    con.execute("INSERT INTO runs (run_id, status) VALUES ('r1', 'failed')")
    con.close()
    with Store(path).session() as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("SELECT article_id, status, local_day FROM articles").fetchall() == [("a1", "ok", dt.date(2026, 11, 23))]
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO runs (run_id, status) VALUES ('r2', 'finished')")
        with pytest.raises(duckdb.ConstraintException):  # the primary key survived the rebuild
            con.execute("INSERT INTO articles (article_id) VALUES ('a1')")
