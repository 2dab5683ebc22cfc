"""docs/schema.md, the migrated schema, the typed records and the status enums must agree (datasette and
sqlite-utils test their docs this way): a table, view or column missing on either side fails here."""

import re
from pathlib import Path

import duckdb
import pytest

from monitor.db.store import SCHEMA_VERSION, Store
from monitor.records import DERIVED_COLUMNS, TABLE_RECORDS, AlertUpdate, EntryUpdate, columns
from monitor.statuses import CHECKED_COLUMNS

DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"


def documented() -> dict[str, dict[str, str]]:
    """name -> {column: meaning} from the `### \\`name\\`` sections' tables."""
    out: dict[str, dict[str, str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.fullmatch(r"### `(\w+)`.*", line)
        if heading:
            current = heading.group(1)
            out[current] = {}
            continue
        row = re.fullmatch(r"\| (\w+) \| (.*) \|", line)
        if current and row and row.group(1) != "column":
            out[current][row.group(1)] = row.group(2)
    return out


@pytest.fixture(scope="module")
def schema() -> dict[str, tuple[str, list[str]]]:
    store = Store(":memory:")
    with store.session() as con:
        names = con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall()
        return {name: (kind, [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]) for name, kind in names}


def test_every_table_and_view_is_documented_and_nothing_else(schema):
    assert sorted(documented()) == sorted(schema)


def test_every_column_is_documented_in_order_and_nothing_else(schema):
    docs = documented()
    for name, (_kind, cols) in schema.items():
        assert list(docs[name]) == cols, name


def test_each_table_is_one_record_kind(schema):
    for table, record in TABLE_RECORDS.items():
        stored = [c for c in schema[table][1] if c not in DERIVED_COLUMNS.get(table, ())]
        assert columns(record) == stored, table
    assert set(TABLE_RECORDS) == {n for n, (kind, _) in schema.items() if kind == "BASE TABLE"} - {"schema_version"}
    for update in (EntryUpdate, AlertUpdate):
        assert set(columns(update)) <= set(schema[update.table][1])


def test_status_lists_in_the_docs_are_the_enums():
    docs = documented()
    for (table, column), enum in CHECKED_COLUMNS.items():
        listed = re.match(r"statuses: ((?:`\w+`(?:, )?)+)", docs[table][column])
        assert listed, f"{table}.{column}: the docs do not list its statuses"
        assert re.findall(r"`(\w+)`", listed.group(1)) == [m.value for m in enum], f"{table}.{column}"


def test_the_database_refuses_a_status_outside_its_enum():
    store = Store(":memory:")
    with store.session() as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        for (table, column), enum in CHECKED_COLUMNS.items():
            checks = [text for (text,) in con.execute(
                "SELECT constraint_text FROM duckdb_constraints() WHERE table_name = ? AND constraint_type = 'CHECK'",
                [table]).fetchall() if re.search(rf"\(\"?{column}\"? IS NULL\)", text)]
            assert len(checks) == 1, f"{table}.{column}"
            assert all(f"'{m.value}'" in checks[0] for m in enum)
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO articles (article_id, status) VALUES ('x', 'okay')")
