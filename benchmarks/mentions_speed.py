"""Mention matching time per ~2,200-character article, the full register (1,800 agencies: feeds.yaml plus the
generated kabupaten/kota and regional units) against an older tree of the project (default: the release before
the register grew, git 27521e5), on real IndoSum text, in the same run.

    python benchmarks/mentions_speed.py [--articles 300] [--baseline-tree /tmp/before]

The baseline tree is a checkout of the older commit (`git worktree add /tmp/before 27521e5`); its matcher runs in a
subprocess on the same texts. Exits 1 when the full register is more than 2x slower per article.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CEILING = 2.0
TIMER = """
import json, sys, time
# the tree on the command line, not the editable install of this checkout (its finder sits before sys.path)
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()
                    and "editable" not in getattr(f, "__name__", "").lower()]
sys.path.insert(0, sys.argv[1])
try:
    from monitor.ingest.mentions import matcher_from_config
except ImportError:
    from monitor.agencies import matcher_from_config
from monitor.config import load_config
texts = json.load(open(sys.argv[2]))
matcher = matcher_from_config(load_config(sys.argv[1] + "/feeds.yaml"))
matcher.mentions(None, texts[0])
best = None
for _ in range(3):
    started = time.perf_counter()
    found = sum(len(matcher.mentions(None, t)) for t in texts)
    elapsed = time.perf_counter() - started
    best = elapsed if best is None else min(best, elapsed)
print(json.dumps({"seconds": best, "mentions": found, "agencies": len(load_config(sys.argv[1] + "/feeds.yaml").agencies)}))
"""


def articles(n: int) -> list[str]:
    from monitor.training.real_news import read_indosum

    out, chunk = [], []
    for _article, sentences in read_indosum(ROOT.parent / "shared" / "data" / "news" / "indosum-dev"):
        for sentence in sentences:
            chunk.append(sentence)
            if sum(len(s) + 1 for s in chunk) >= 2200:
                out.append(" ".join(chunk))
                chunk = []
                if len(out) == n:
                    return out
    return out


def timed(tree: Path, texts_file: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", TIMER, str(tree), str(texts_file)], capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--baseline-tree", type=Path, default=Path("/tmp/before"))
    args = parser.parse_args()
    if not (args.baseline_tree / "monitor").exists():
        print(f"no baseline tree at {args.baseline_tree}: git worktree add {args.baseline_tree} 27521e5", file=sys.stderr)
        return 2
    texts = articles(args.articles)
    texts_file = ROOT / "models" / "cache" / "mention_speed_texts.json"
    texts_file.parent.mkdir(parents=True, exist_ok=True)
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    now, before = timed(ROOT, texts_file), timed(args.baseline_tree, texts_file)
    per_now, per_before = now["seconds"] / len(texts) * 1000, before["seconds"] / len(texts) * 1000
    ratio = per_now / per_before
    print(f"{len(texts)} real articles of ~2,200 characters (IndoSum), best of 3")
    print(f"  baseline ({args.baseline_tree}, {before['agencies']} agencies): {per_before:.2f} ms/article, {before['mentions']} mentions")
    print(f"  full register ({now['agencies']} agencies): {per_now:.2f} ms/article, {now['mentions']} mentions")
    print(f"  ratio {ratio:.2f}x (ceiling {CEILING}x): {'PASS' if ratio <= CEILING else 'FAIL'}")
    return 0 if ratio <= CEILING else 1


if __name__ == "__main__":
    sys.exit(main())
