"""Write monitor/data/regions.csv (the 514 kabupaten/kota of the register) from the Kepmendagri 2025 code table.

    python -m monitor.dev.make_regions [--source ../shared/data/agencies/kode-wilayah-2025.csv]

Source: Kepmendagri No 300.2.2-2138 Tahun 2025 (region codes and names), as published in GitHub `cahyadsn/wilayah`
`db/wilayah.sql` (MIT License, (c) 2025 cahya dsn), levels 1-2, via ../shared/data/agencies. Output columns: `code`
(NN.NN), `id` (register id: kab-<place> / kota-<place>, with the code appended where a place repeats at one level),
`level` (kabupaten / kota), `place` (the name without "Kabupaten"/"Kota"/"Administrasi"), `province_id` (the
register id of its province).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "monitor" / "data" / "regions.csv"
# Province names as written in the code table -> register ids where the register's place names differ.
PROVINCE_IDS = {"Daerah Khusus Ibukota Jakarta": "prov-dki-jakarta", "Daerah Istimewa Yogyakarta": "prov-diy",
                "Kepulauan Bangka Belitung": "prov-babel"}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def place_of(name: str) -> str:
    return re.sub(r"^(?:Kabupaten|Kota)\s+(?:Administrasi\s+)?", "", " ".join(name.split()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "agencies" / "kode-wilayah-2025.csv")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import yaml

    register = yaml.safe_load((ROOT / "feeds.yaml").read_text(encoding="utf-8"))["agencies"]
    by_place = {p: a["id"] for a in register if a["type"] == "provinsi" for p in a.get("place_names", [])}
    rows = list(csv.DictReader(args.source.open(encoding="utf-8")))
    regions = [r for r in rows if r["level"] in ("kabupaten", "kota")]
    seen: dict[str, int] = {}
    for r in regions:
        key = f"{'kab' if r['level'] == 'kabupaten' else 'kota'}-{slug(place_of(r['nama']))}"
        seen[key] = seen.get(key, 0) + 1
    out = []
    for r in regions:
        place = place_of(r["nama"])
        base = f"{'kab' if r['level'] == 'kabupaten' else 'kota'}-{slug(place)}"
        province = PROVINCE_IDS.get(r["provinsi"]) or by_place.get(r["provinsi"])
        if province is None:
            raise SystemExit(f"no register province for {r['provinsi']!r}")
        out.append({"code": r["kode"], "id": base if seen[base] == 1 else f"{base}-{r['kode'].replace('.', '')}",
                    "level": r["level"], "place": place, "province_id": province})
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["code", "id", "level", "place", "province_id"])
        writer.writeheader()
        writer.writerows(out)
    print(f"{OUT}: {len(out)} kabupaten/kota ({sum(r['level'] == 'kabupaten' for r in out)} kabupaten)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
