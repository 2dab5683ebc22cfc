"""Builders for fixture feeds and pages (Indonesian text written for these tests) and a config factory."""

from __future__ import annotations

import html
from pathlib import Path

import yaml

from monitor.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
TEST_SETTINGS = {"allow_private_networks": True, "per_host_gap_s": 0.0, "extract_workers": 0,
                 "total_timeout_s": 5, "connect_timeout_s": 2, "db_lock_timeout_s": 0.5, "min_text_chars": 200}

# Titles and names feeds have carried or could carry: markup, a spreadsheet formula, a word too long to wrap, a
# right-to-left override. Pages, reports and exports must show them as text.
HOSTILE_TITLES = ['<img src=x onerror="document.title=1">', '=HYPERLINK("http://evil.example.com","klik")',
                  "Judul sangat panjang tanpa spasi " + "x" * 120, "Media \u202eRTL dibalik"]

PARAGRAPHS = {
    "banjir": [
        "Badan Nasional Penanggulangan Bencana (BNPB) mencatat 1.450 warga mengungsi akibat banjir yang melanda empat kecamatan sejak Sabtu dini hari. Ketinggian air di permukiman mencapai satu meter.",
        "Kepala BNPB mengatakan tim gabungan bersama Basarnas dan relawan telah mendirikan dapur umum dan posko kesehatan. Bantuan logistik terus dikirim ke lokasi yang sulit dijangkau.",
        "BMKG memperingatkan potensi hujan lebat masih tinggi hingga tiga hari ke depan sehingga warga di bantaran sungai diminta tetap waspada dan mengikuti arahan petugas.",
    ],
    "korupsi": [
        "Komisi Pemberantasan Korupsi (KPK) menahan seorang kepala dinas terkait dugaan suap proyek jalan senilai Rp12 miliar. Penahanan dilakukan setelah pemeriksaan selama sembilan jam.",
        "Juru bicara KPK menyebut tersangka diduga menerima uang dari kontraktor agar memenangkan lelang. Penyidik juga menyita dokumen dan uang tunai dari rumah tersangka.",
        "Pemprov Jatim menyatakan menghormati proses hukum dan menunjuk pelaksana tugas agar pelayanan publik di dinas tersebut tidak terganggu.",
    ],
    "pajak": [
        "Kementerian Keuangan mencatat penerimaan pajak hingga Oktober mencapai 82 persen dari target tahun ini. Menkeu menyebut kenaikan terutama berasal dari pajak penghasilan badan.",
        "Direktorat Jenderal Pajak akan memperluas layanan pelaporan daring agar wajib pajak tidak perlu antre di kantor pelayanan. Sistem baru itu diuji coba di lima kota besar.",
        "Sejumlah ekonom menilai pemerintah perlu menjaga daya beli masyarakat menjelang akhir tahun ketika harga bahan pokok biasanya naik dan permintaan meningkat.",
    ],
    "sekolah": [
        "Kementerian Pendidikan Dasar dan Menengah meluncurkan program perbaikan 5.000 ruang kelas rusak di daerah tertinggal. Program itu dibiayai dari anggaran tahun depan.",
        "Mendikdasmen mengatakan data kerusakan dihimpun dari laporan sekolah dan pemerintah daerah. Sekolah dengan kerusakan berat akan diprioritaskan pada tahap pertama.",
        "Para guru di Nusa Tenggara Timur menyambut baik program tersebut karena banyak siswa masih belajar di ruang kelas darurat yang beratap bocor.",
    ],
}


def article_html(title: str, paragraphs: list[str], *, charset: str = "utf-8", canonical: str | None = None,
                 lang: str = "id") -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="{charset}"><title>{html.escape(title)}</title>{link}'
            f'</head><body><header><a href="/">Beranda</a></header><article><h1>{html.escape(title)}</h1>{body}'
            f"</article><footer>Hak cipta redaksi uji</footer></body></html>")


def rss(items: list[dict], *, title: str = "Feed Uji", link: str = "http://example.test/") -> bytes:
    """items: {title, link, guid?, date?, description?, source?}"""
    out = []
    for item in items:
        parts = [f"<title>{html.escape(item['title'])}</title>", f"<link>{html.escape(item['link'])}</link>"]
        if item.get("guid"):
            parts.append(f"<guid>{html.escape(item['guid'])}</guid>")
        if item.get("date"):
            parts.append(f"<pubDate>{item['date']}</pubDate>")
        parts.append(f"<description>{html.escape(item.get('description', ''))}</description>")
        if item.get("source"):
            parts.append(f'<source url="http://publisher.test/">{html.escape(item["source"])}</source>')
        out.append("<item>" + "".join(parts) + "</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title><link>{link}</link>'
            f"<description>uji</description>{''.join(out)}</channel></rss>").encode()


def atom(items: list[dict], *, base: str = "") -> bytes:
    out = "".join(f"<entry><title>{html.escape(i['title'])}</title><link href=\"{html.escape(i['link'])}\"/>"
                  f"<id>{html.escape(i.get('guid') or i['link'])}</id>" + (f"<updated>{i['date']}</updated>" if i.get("date") else "")
                  + "</entry>" for i in items)
    xml_base = f' xml:base="{base}"' if base else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{xml_base}><title>Atom Uji</title>'
            f"<id>urn:uji</id><updated>2026-11-20T00:00:00Z</updated>{out}</feed>").encode()


def shipped_register() -> dict:
    return yaml.safe_load((ROOT / "feeds.yaml").read_text(encoding="utf-8"))


def make_config(feeds: list[dict], agencies: list[dict] | None = None, **settings):
    raw = shipped_register()
    return parse_config({"settings": {**TEST_SETTINGS, **settings}, "feeds": feeds,
                         "agencies": raw["agencies"] if agencies is None else agencies,
                         "regions": raw.get("regions", []) if agencies is None else [], "topics": raw["topics"]}, "test")


def tiny_sentiment_layout(tmp_path, rows: list[tuple[str, str]], copies: int = 3):
    """A miniature ../shared/data/sentiment (smsa/*.tsv, nusax-ind/*.csv) and news tone CSV from (text, label)
    rows; news rows target KPK. Returns (shared folder, news CSV path)."""
    shared = tmp_path / "sentiment"
    (shared / "smsa").mkdir(parents=True)
    (shared / "nusax-ind").mkdir()
    for split in ("train", "valid", "test"):
        (shared / "smsa" / f"{split}.tsv").write_text("\n".join(f"{t} {split}\t{label}" for t, label in rows * copies), encoding="utf-8")
        (shared / "nusax-ind" / f"{split}.csv").write_text(
            "id,text,label\n" + "\n".join(f"{i},{t} nusax {split},{label}" for i, (t, label) in enumerate(rows)), encoding="utf-8")
    news = tmp_path / "news.csv"
    lines = ["id,text,target,label,topic,hard,split,template"]
    for split in ("train", "test"):
        for n, (text, label) in enumerate(rows * 2):
            lines.append(f"{split}{n},KPK {text} {n},kpk,{label},hukum,0,{split},{split}-{n % 9}")
    news.write_text("\n".join(lines), encoding="utf-8")
    return shared, news


def batch(**tables: list[dict]):
    """A typed Batch from rows given per table name as dicts (`entry_updates`/`alert_updates`: partial updates).
    An unknown column is a TypeError, as it would be in the code that builds records."""
    from monitor.records import TABLE_RECORDS, AlertUpdate, Batch, EntryUpdate

    kinds = {**TABLE_RECORDS, "entry_updates": EntryUpdate, "alert_updates": AlertUpdate}
    out = Batch()
    for name, rows in tables.items():
        out.extend(kinds[name](**row) for row in rows)
    return out
