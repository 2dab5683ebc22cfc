"""Regional governments below the national level in news text: kabupaten/kota governments and the parliaments
(DPRD) and offices (Dinas …, BPBD, Satpol PP, …) of provinces and kabupaten/kota.

One pass finds place names (every kab/kota and province place name of the register, longest first, case as
written); each place counts only when a government or unit form stands right before it, so a bare place name
("banjir di Bogor", "Kabupaten Bogor") is a location, never a government (../shared/data/agencies README, §4.33).

Which body a form names:
- `Pemkab / Pemerintah Kabupaten / Bupati / Wakil Bupati / Wabup / Pj or Plt Bupati / Sekda Kabupaten X` → the
  kabupaten X; `Pemkot / Pemerintah Kota / Wali Kota (Walikota) / Wakil Wali Kota / Wawali / Balai Kota /
  Sekda Kota X` → the kota X. A kabupaten and a kota that share a place name are different bodies.
- `DPRD [Provinsi|Kabupaten|Kota] X` (with Ketua/Wakil Ketua/Anggota) → the DPRD unit of that government;
  `Dinas … / Diskominfo / Dinkes / BPBD / Satpol PP / Bapenda / Bappeda / Kesbangpol / Inspektorat / … X` → its
  offices unit (`--opd`). Without a level word, X is the province when X names a province, else the only kab/kota
  of that name; a name shared by a kabupaten and a kota (Bogor, Bekasi, Malang, …) stays unattributed.
- `PN X` (a district court) → the MA unit `ma-pn`: "PN" alone is too ambiguous to match without a place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config import AgencyConfig

# Each pattern is anchored at the end of the text before the place name; group "level" is the level word if any.
_LEVEL = r"(?:\s+(?P<level>Provinsi|Prov\.|Kabupaten|Kab\.|Kota))?"
_KAB_GOV = re.compile(r"(?:\bPemerintah\s+Kabupaten|\bPemkab|\bPemda\s+Kabupaten|\bSekda\s+Kabupaten|"
                      r"\bSekretaris\s+Daerah\s+Kabupaten|(?:\b(?:Plt\.?|Pj\.?|Penjabat|Pelaksana\s+Tugas)\s+)?"
                      r"(?:\b[Ww]akil\s+)?\b[Bb]upati(?:\s+Kabupaten)?|\bWabup)\s+$")
_KOTA_GOV = re.compile(r"(?:\bPemerintah\s+Kota(?:\s+Administrasi)?|\bPemkot|\bPemda\s+Kota|\bSekda\s+Kota|"
                       r"\bSekretaris\s+Daerah\s+Kota|\bBalai\s+[Kk]ota|(?:\b(?:Plt\.?|Pj\.?|Penjabat|Pelaksana\s+Tugas)\s+)?"
                       r"(?:\b[Ww]akil\s+)?\b[Ww]ali\s*[Kk]ota(?:\s+Administrasi)?|\bWawali|\bWawalkot)\s+$")
_DPRD = re.compile(rf"\bDPRD{_LEVEL}\s+$")
_OFFICES = (r"Dinas(?:\s+(?:[A-Z][\w-]*|dan|&))+?|Disdik|Diskominfo|Diskominfotik|Dinkes|Dishub|Dinsos|Disnaker|"
            r"Disnakertrans|Disperindag|Disdukcapil|Disparbud|Dispar|Disbudpar|Dispora|Distan|DLH|Bapenda|Bappeda|"
            r"Bappelitbangda|BKD|BKPSDM|BPKAD|BPBD|Satpol\s+PP|Kesbangpol|Inspektorat|RSUD|Dispenda|Damkar")
_OPD = re.compile(rf"\b(?:{_OFFICES}){_LEVEL}\s+$")
# National units named by an abbreviation that is only unambiguous before a place: "PN Jakarta Selatan".
PLACE_BOUND = {"ma-pn": re.compile(r"\bPN\s+$")}
LOOKBEHIND = 90  # characters of left context a form can take
LEVELS = {"Provinsi": "provinsi", "Prov.": "provinsi", "Kabupaten": "kabupaten", "Kab.": "kabupaten", "Kota": "kota"}


@dataclass(frozen=True)
class RegionalHit:
    start: int
    end: int
    agency_id: str
    text: str  # the whole form as written ("Wali Kota Surabaya", "BPBD Jatim")


class RegionalMatcher:
    """Finds regional government and unit mentions; build once from the (expanded) register."""

    def __init__(self, agencies: Iterable[AgencyConfig]):
        self.by_place: dict[str, dict[str, str]] = {}  # place -> level -> government id
        self.units: dict[str, dict[str, str]] = {}  # government id -> {"dprd": id, "perangkat_daerah": id}
        self.known: set[str] = set()
        for agency in agencies:
            self.known.add(agency.id)
            if agency.type in ("provinsi", "kabupaten", "kota"):
                for place in agency.place_names:
                    self.by_place.setdefault(" ".join(place.split()), {})[agency.type] = agency.id
            elif agency.type in ("dprd", "perangkat_daerah") and agency.parent:
                self.units.setdefault(agency.parent, {})[agency.type] = agency.id
        names = sorted(self.by_place, key=len, reverse=True)
        alternation = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
        self._places = re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])") if names else None

    def find(self, text: str) -> list[RegionalHit]:
        if self._places is None or not text:
            return []
        hits = []
        for match in self._places.finditer(text):
            place = " ".join(match.group(0).split())
            left = text[max(0, match.start() - LOOKBEHIND) : match.start()]
            hit = self._resolve(place, left)
            if hit is not None:
                agency_id, form_start = hit
                start = match.start() - (len(left) - form_start)
                hits.append(RegionalHit(start, match.end(), agency_id, text[start : match.end()]))
        return hits

    def _resolve(self, place: str, left: str) -> tuple[str, int] | None:
        """(agency id, start of the form within `left`) or None when no government form precedes the place."""
        levels = self.by_place[place]
        for pattern, level in ((_KAB_GOV, "kabupaten"), (_KOTA_GOV, "kota")):
            found = pattern.search(left)
            if found:
                return (levels[level], found.start()) if level in levels else None
        for agency_id, pattern in PLACE_BOUND.items():
            found = pattern.search(left)
            if found and agency_id in self.known:
                return agency_id, found.start()
        for pattern, unit in ((_DPRD, "dprd"), (_OPD, "perangkat_daerah")):
            found = pattern.search(left)
            if found:
                government = self._government(levels, found.group("level"))
                unit_id = self.units.get(government or "", {}).get(unit)
                return (unit_id, found.start()) if unit_id else None
        return None

    @staticmethod
    def _government(levels: dict[str, str], level_word: str | None) -> str | None:
        if level_word:
            return levels.get(LEVELS[level_word])
        if "provinsi" in levels:
            return levels["provinsi"]
        local = [levels[k] for k in ("kabupaten", "kota") if k in levels]
        return local[0] if len(local) == 1 else None
