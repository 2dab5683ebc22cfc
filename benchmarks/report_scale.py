"""The weekly report over a year of synthetic history (default 1,000,000 articles and 3,000,000 agency mentions,
150 agencies, 40 outlets; the generator of benchmarks/queries_scale.py): the all-agency report with three
followed agencies' sections, as HTML and as PDF. Prints the times and sizes; exits 1 if the HTML report takes
longer than the floor (issue 19: ≤ 10 s on this machine) or the PDF with it longer than twice that.

    python benchmarks/report_scale.py [--articles 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from queries_scale import build  # noqa: E402

from monitor.db.store import Store  # noqa: E402
from monitor.outputs.export import Week  # noqa: E402
from monitor.outputs.queries import read_only_connection  # noqa: E402
from monitor.outputs.report import write_weekly_report  # noqa: E402

FLOOR_S = 10.0
FOLLOWED = ["ag0", "ag7", "ag42"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "history.duckdb")
        print(f"built {args.articles:,} articles in {build(path, args.articles):.1f}s")
        with Store(path).session() as con:  # names, as the register writes them
            con.execute("INSERT INTO agencies (agency_id, name) SELECT 'ag' || i, 'Instansi Uji Nomor ' || i FROM range(150) t(i)")
        week = Week.parse("2025-W40")
        con = read_only_connection(path)
        try:
            started = time.perf_counter()
            html = write_weekly_report(con, week, None, Path(tmp) / "r.html", followed=FOLLOWED)
            html_s = time.perf_counter() - started
            started = time.perf_counter()
            write_weekly_report(con, week, None, Path(tmp) / "r2.html", followed=FOLLOWED, pdf=Path(tmp) / "r.pdf")
            both_s = time.perf_counter() - started
        finally:
            con.close()
        page = html.read_text(encoding="utf-8")
        print(f"all-agency report, {len(FOLLOWED)} followed sections: HTML {html_s:.2f}s ({len(page) / 1e3:.0f} KB, "
              f"{page.count('<img ')} charts, {page.count('<svg class')} sparklines); HTML+PDF {both_s:.2f}s "
              f"({(Path(tmp) / 'r.pdf').stat().st_size / 1e3:.0f} KB PDF)")
    ok = html_s <= FLOOR_S and both_s <= 2 * FLOOR_S
    print(f"floor: HTML ≤ {FLOOR_S:.0f}s, HTML+PDF ≤ {2 * FLOOR_S:.0f}s: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
