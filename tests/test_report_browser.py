"""The weekly report in a real browser (Debian's headless Chromium) at a phone's and a desktop's width: the first
screen holds the ranked table, nothing overflows sideways, every image loads, hostile titles stay text.

Deselected unless `pytest --browser` (conftest.py); `.ci/run` installs chromium and runs these."""

import datetime as dt
import html
import json
import re
import shutil
import subprocess

import pytest

from monitor.db.store import Store
from monitor.outputs.export import Week
from monitor.outputs.queries import read_only_connection
from monitor.outputs.report import write_weekly_report

from helpers import HOSTILE_TITLES, batch

pytestmark = pytest.mark.browser
UTC = dt.UTC
WEEK = Week.parse("2026-W48")
HOSTILE = HOSTILE_TITLES
# Appended to a copy of the report: measures what the page does at its width and posts it to the page around it.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const rank = document.getElementById('peringkat').getBoundingClientRect();
  parent.postMessage(JSON.stringify({width: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
    images: imgs.length, loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    rankTop: rank.top, height: window.innerHeight, title: document.title,
    injected: document.querySelectorAll('img[src="x"]').length}), '*');
});</script>"""
# Headless Chromium will not make a window narrower than 500 px: the report is measured in an iframe of the
# width under test, which writes what it measured into the outer page's DOM for --dump-dom.
FRAME = """<!doctype html><html><body style="margin:0"><iframe id="report" style="border:0" width="{width}"
height="{height}" srcdoc="{page}"></iframe><script>window.addEventListener('message', (e) => {{
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = e.data; document.body.appendChild(pre);
}});</script></body></html>"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "browser tests need Debian's chromium: apt-get install chromium"
    return path


def history(tmp_path) -> str:
    """Three agencies over four weeks; two followed ones with news on most days of W48, one with little."""
    rows = {"articles": [], "mentions": [], "mention_tone": [], "article_analysis": []}
    n = 0
    for day in range(28):
        ts = dt.datetime(2026, 11, 2, 3, 0, tzinfo=UTC) + dt.timedelta(days=day)
        for agency, per_day in (("kpk", 1 + day % 3), ("polri", 2 + day % 2), ("bnpb", 1 if day % 9 == 0 else 0)):
            for k in range(per_day):
                n += 1
                tone = ("negative", "neutral", "positive")[(n + k) % 3]
                title = HOSTILE[n % 4] if n % 17 == 0 else f"Berita {agency} nomor {n} tentang kebijakan daerah"
                rows["articles"].append({"article_id": f"a{n}", "url": f"https://contoh.test/{n}", "title": title,
                                         "outlet": f"Media {n % 7}", "published_at": ts, "fetched_at": ts,
                                         "status": "ok", "cluster_id": f"c{n // 2}"})
                rows["mentions"].append({"article_id": f"a{n}", "agency_id": agency, "mention_count": 1})
                p = {"negative": 0.8, "neutral": 0.1, "positive": 0.1}[tone]
                rows["mention_tone"].append({"article_id": f"a{n}", "agency_id": agency, "model_version": "v1", "tone": tone,
                                             "p_negative": p, "p_neutral": 0.1, "p_positive": 1 - p - 0.1, "analyzed_at": ts})
                rows["article_analysis"].append({"article_id": f"a{n}", "model_version": "v1", "tone": tone,
                                                 "p_negative": p, "p_neutral": 0.1, "p_positive": 0.1,
                                                 "topics": ["hukum"], "topic_scores": [0.9], "analyzed_at": ts})
    agencies = [{"agency_id": "kpk", "name": "Komisi Pemberantasan Korupsi" + "Z" * 60},  # a name with no break
                {"agency_id": "polri", "name": "Kepolisian Negara Republik Indonesia"},
                {"agency_id": "bnpb", "name": "Badan Nasional Penanggulangan Bencana"}]
    Store(tmp_path / "h.duckdb").write(batch(**rows, agencies=agencies))
    return str(tmp_path / "h.duckdb")


def probe(page_path, width: int, height: int) -> dict:
    probed = page_path.with_name(f"probe-{width}.html")
    page = page_path.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>")
    probed.write_text(FRAME.format(width=width, height=height, page=html.escape(page, quote=True)), encoding="utf-8")
    dom = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          f"--window-size={max(width, 800)},{height + 100}", "--virtual-time-budget=5000", "--dump-dom",
                          probed.as_uri()], capture_output=True, text=True, timeout=120).stdout
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_the_first_screen_holds_the_ranked_table_and_nothing_overflows(tmp_path, width, height):
    con = read_only_connection(history(tmp_path))
    try:
        page = write_weekly_report(con, WEEK, None, tmp_path / "laporan.html", followed=["polri", "kpk", "bnpb"])
    finally:
        con.close()
    result = probe(page, width, height)
    assert result["width"] == width, result  # measured at the width under test
    assert result["scrollWidth"] <= result["width"], result  # no sideways scrolling
    assert result["images"] == 4 and result["loaded"] == 4, result  # two charts for each of the two busy agencies
    assert result["rankTop"] < result["height"], result  # the ranked table starts on the first screen
    assert result["injected"] == 0 and result["title"].startswith("Laporan mingguan"), result  # titles stayed text


def test_screenshots_render_at_phone_and_desktop_width(tmp_path):
    con = read_only_connection(history(tmp_path))
    try:
        page = write_weekly_report(con, WEEK, None, tmp_path / "laporan.html", followed=["polri", "kpk", "bnpb"])
    finally:
        con.close()
    for width in (390, 1280):
        shot = tmp_path / f"shot-{width}.png"
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={width},900", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, timeout=120, check=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
