"""The full agency register: the hand-kept entries of feeds.yaml plus entries generated from data.

Generated (never hand-written):
- the 514 kabupaten/kota governments from monitor/data/regions.csv (Kepmendagri No 300.2.2-2138 Tahun 2025 via
  GitHub cahyadsn/wilayah, MIT; written by `python -m monitor.dev.make_regions`): id `kab-<place>` / `kota-<place>`,
  type kabupaten / kota, matched only in their government forms (Pemkab/Pemkot X, Bupati/Wali Kota X, ...; see
  monitor/ingest/mentions.py), never as a bare place name;
- two units of every regional government (the 38 provinces and the 514 kabupaten/kota), with `parent` the
  government: `<government>--dprd` (its parliament, DPRD X) and `<government>--opd` (its offices: Dinas … X,
  BPBD X, Satpol PP X, Bapenda X, ...). A unit is its own agency id; queries roll units up into their parent
  or show them alone (docs/register.md).

Operators extend a generated region in feeds.yaml under `regions:` (`{id: kota-surakarta, place_names: [Solo],
aliases: [...]}`); an unknown id is a configuration error naming the entry.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

GENERATED_TYPES = ("kabupaten", "kota", "dprd", "perangkat_daerah")
LEVEL_WORD = {"kabupaten": "Kabupaten", "kota": "Kota", "provinsi": "Provinsi"}


@dataclass(frozen=True)
class Region:
    """One kabupaten/kota of the code table."""

    code: str         # Kemendagri code, NN.NN
    id: str           # register id
    level: str        # kabupaten | kota
    place: str        # "Bogor", "Jakarta Selatan"
    province_id: str  # register id of its province


@lru_cache(maxsize=1)
def load_regions() -> tuple[Region, ...]:
    """The packaged kabupaten/kota table."""
    text = resources.files("monitor").joinpath("data/regions.csv").read_text(encoding="utf-8")
    return tuple(Region(**row) for row in csv.DictReader(text.splitlines()))


def region_entries(overrides: dict[str, dict[str, list[str]]] | None = None) -> list[dict[str, object]]:
    """Register entries (as feeds.yaml would hold them) for every kabupaten/kota, with operator overrides
    ({id: {"place_names": [...], "aliases": [...]}}) merged in."""
    overrides = overrides or {}
    entries: list[dict[str, object]] = []
    for region in load_regions():
        extra = overrides.get(region.id, {})
        entries.append({
            "id": region.id, "type": region.level, "name": f"Pemerintah {LEVEL_WORD[region.level]} {region.place}",
            "parent": None, "province": region.province_id, "code": region.code,
            "place_names": [region.place, *extra.get("place_names", [])], "aliases": list(extra.get("aliases", []))})
    return entries


def unit_entries(governments: list[dict[str, object]]) -> list[dict[str, object]]:
    """The DPRD and the offices (perangkat daerah) of each regional government entry (province or kab/kota)."""
    units: list[dict[str, object]] = []
    for gov in governments:
        level = "provinsi" if gov["type"] == "provinsi" else str(gov["type"])
        places = list(gov.get("place_names") or [])  # type: ignore[call-overload]
        label = f"{LEVEL_WORD[level]} {places[0]}" if places else str(gov["name"])
        units.append({"id": f"{gov['id']}--dprd", "type": "dprd", "name": f"DPRD {label}", "parent": gov["id"]})
        units.append({"id": f"{gov['id']}--opd", "type": "perangkat_daerah", "name": f"Perangkat Daerah {label}",
                      "parent": gov["id"]})
    return units


def expand(agencies: list[dict[str, object]], regions: list[dict[str, object]] | None = None) -> list[dict[str, object]]:
    """feeds.yaml's agencies plus the generated kabupaten/kota and regional units. `regions` are the operator's
    overrides of generated regions (each `{id, place_names?, aliases?}`); an unknown id raises KeyError(index)."""
    known = {region.id for region in load_regions()}
    overrides: dict[str, dict[str, list[str]]] = {}
    for index, entry in enumerate(regions or []):
        if entry.get("id") not in known:
            raise KeyError(index)
        overrides[str(entry["id"])] = {k: list(v) for k, v in entry.items() if k != "id"}  # type: ignore[call-overload]
    generated = region_entries(overrides)
    provinces = [a for a in agencies if a.get("type") == "provinsi"]
    return [*agencies, *generated, *unit_entries([*provinces, *generated])]


def roll_up(agencies: list[Any]) -> dict[str, str]:
    """agency id -> the id it counts for when units are rolled up into their parents (itself when it has none).
    `agencies` are AgencyConfig objects (anything with `id` and `parent`)."""
    parents = {a.id: a.parent for a in agencies}
    out = {}
    for agency_id in parents:
        root, seen = agency_id, {agency_id}
        while parents.get(root) and parents[root] not in seen:
            root = parents[root]
            seen.add(root)
        out[agency_id] = root
    return out
