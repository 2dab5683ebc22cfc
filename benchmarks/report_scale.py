"""The weekly report over a year of synthetic history (default 1,000,000 articles and 3,000,000 agency mentions,
150 agencies, 40 outlets; the generator of benchmarks/queries_scale.py): the all-agency report with three
followed agencies' sections (and twenty), as HTML and as PDF. Prints the times and sizes; exits 1 if an HTML report
takes longer than the floor (issue 19: ≤ 10 s on this machine).

    python benchmarks/report_scale.py [--articles 1000000] [--followed 3 20]
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


def timed_report(con, week: Week, out: Path, followed: list[str]) -> tuple[float, Path]:
    started = time.perf_counter()
    path = write_weekly_report(con, week, None, out, followed=followed)
    return time.perf_counter() - started, path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--followed", type=int, nargs="+", default=[3, 20],
                        help="numbers of followed agencies (sections with charts) to time")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "history.duckdb")
        print(f"built {args.articles:,} articles in {build(path, args.articles):.1f}s")
        with Store(path).session() as con:  # names, as the register writes them
            con.execute("INSERT INTO agencies (agency_id, name) SELECT 'ag' || i, 'Instansi Uji Nomor ' || i FROM range(150) t(i)")
        week = Week.parse("2025-W40")
        con = read_only_connection(path)
        try:
            for count in args.followed:
                followed = [f"ag{7 * i % 150}" for i in range(count)]
                html_s, html = timed_report(con, week, Path(tmp) / f"r{count}.html", followed)
                pdf_s, pdf = timed_report(con, week, Path(tmp) / f"r{count}.pdf", followed)
                page = html.read_text(encoding="utf-8")
                passed = html_s <= FLOOR_S
                ok = ok and passed
                print(f"all-agency report, {count} followed sections: HTML {html_s:.2f}s ({len(page) / 1e3:.0f} KB, "
                      f"{page.count('<img ')} charts, {page.count('<svg class')} sparklines); PDF {pdf_s:.2f}s "
                      f"({pdf.stat().st_size / 1e3:.0f} KB); floor HTML ≤ {FLOOR_S:.0f}s: {'PASS' if passed else 'FAIL'}")
        finally:
            con.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
