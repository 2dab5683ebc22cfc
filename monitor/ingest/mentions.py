"""The agency register and mention detection.

Matching rules (they come from the traps in the register's sources):
- Whole tokens only: a form never matches inside a longer word ("DPR" in "DPRD", "Polri" in "Polrindo" do not
  count), except for the glued suffix "-nya" ("Polrinya"). A hyphen ends a token, so "KPK-nya" and "TNI-Polri" match.
- Abbreviations and leader titles that are abbreviations are case-sensitive (the form as written, or in capitals
  for upper-case headlines), so "kpk" in a URL or "bin" in a name never count. Official names, aliases and former
  names are case-insensitive.
- Longest form first at each position: "Wamenkeu" before "Menkeu", "Menteri KPK" (a loose name of the family
  ministry) before "KPK", "Gubernur BI" before the provinces.
- URLs and e-mail addresses are masked before matching.
- Provinces are matched only in their government forms (Pemprov X, Pemerintah Provinsi X, Gubernur X, Wagub X,
  Pemda X ...), built from `place_names`; a bare place name ("banjir di Jambi") is a location, not a government.
- `exclude_phrases` (regular expressions, case-sensitive) cancel a match that overlaps them ("BI Rate",
  "Dinas Kominfo", "DPR Papua").
- A body's building counts ("unjuk rasa di depan gedung MK" is news for the MK's PR team), as the idner-news-2k
  annotators also tag it.
- A name or title followed by a foreign country ("Menteri Pertahanan Rusia") is that country's body, not ours.
- A former name is mapped to today's body; when the article is dated after the name's `until` date the mention
  is flagged `legacy_name`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from monitor.config import AgencyConfig
from monitor.ingest.regional import RegionalMatcher
from monitor.register import GENERATED_TYPES

PROVINCE_PREFIXES = ("Pemerintah Provinsi", "Pemprov", "Pemda", "Gubernur", "Wakil Gubernur", "Wagub", "Sekda Provinsi", "Sekda")
URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+@[\w-]+\.[\w.]+|\b[\w-]+(?:\.[\w-]+)*\.(?:go\.id|co\.id|com|id|net|org)(?:/\S*)?", re.I)
SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’']))\s+(?=[\"“‘(]?[A-Z0-9])")
ABBREVIATIONS_WITH_DOT = re.compile(r"\b(?:Dr|Prof|Ir|H|Hj|No|St|Jl|Kol|Brigjen|Irjen|Komjen|Mayjen|Letjen|Jend|KH|dr|drg|Tbk|Bpk|Sdr|Dra|Drs|Ny|Tn)\.\s", re.U)
WORD = r"[0-9A-Za-zÀ-ÿ_]"
# A ministry name or title followed by a foreign country is that country's ministry ("Menteri Luar Negeri Rusia").
FOREIGN = re.compile(r"\s+(?:Amerika(?: Serikat)?|AS|Rusia|Mesir|China|Tiongkok|Cina|Jepang|Korea(?: Selatan| Utara)?|Inggris|"
                     r"Prancis|Perancis|Jerman|Australia|Malaysia|Singapura|Finlandia|Yunani|Kongo|Israel|Palestina|Iran|"
                     r"Irak|Suriah|Arab Saudi|Saudi|India|Pakistan|Filipina|Thailand|Vietnam|Belanda|Ukraina|Turki|Yordania|"
                     r"Jordania|Sudan|Afghanistan|Myanmar|Kanada|Brasil|Italia|Spanyol|Swedia|Norwegia|Denmark|Polandia|"
                     r"Timor Leste|Brunei|Selandia Baru|Qatar|Lebanon|Libya|Nigeria|Kenya|Zimbabwe|Venezuela|Meksiko|Argentina|"
                     r"Bangladesh|Sri Lanka|Nepal|Kamboja|Laos|Mongolia|Kuba|Chili|Peru|Kolombia|Ethiopia|Somalia|"
                     r"Bahrain|Kuwait|Oman|Uni Emirat Arab|UEA|Azerbaijan|Kazakhstan|Uzbekistan|Austria|Swiss|Belgia|"
                     r"Portugal|Yaman|Maroko|Aljazair|Tunisia|Taiwan|Hong Kong|Singapura|ASEAN)\b")
FOREIGN_APPLIES_TO = ("name", "leader_title", "former_name", "alias", "abbreviation", "holder")
# "mantan Bupati X", "eks Kapolres", "purnawirawan Kasad", "calon Wali Kota X": a former holder of the office or a
# candidate for it, not the body (a title form right after one of these words does not count).
FORMER_HOLDER = re.compile(r"(?:\b(?:[Mm]antan|[Ee]ks|[Bb]ekas|[Pp]urnawirawan|[Ee]x|[Cc]alon|[Bb]akal\s+[Cc]alon)\s+(?:[Ww]akil\s+)?|\beks-)$")
TITLE_KINDS = ("leader_title", "holder", "abbreviation", "regional_form")


@dataclass(frozen=True)
class SurfaceForm:
    agency_id: str
    text: str
    case_sensitive: bool
    kind: str  # name | alias | abbreviation | leader_title | former_name | province_form | holder | regional_form
    until: dt.date | None = None  # former_name: used after this day is a legacy name; holder: the term's end
    since: dt.date | None = None  # holder: the term's start

    def valid_on(self, day: dt.date | None) -> bool:
        """A holder's form ("Presiden Joko Widodo") names the office only during the term; with no date, only a
        holder still in office counts (a former president is not the presidency)."""
        if self.kind != "holder":
            return True
        if day is None:
            return self.until is None
        return (self.since is None or self.since <= day) and (self.until is None or day < self.until)


@dataclass
class AgencyMention:
    """All mentions of one agency in one article."""

    agency_id: str
    mention_count: int = 0
    in_title: bool = False
    in_lead: bool = False
    forms: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    legacy_name: bool = False


def is_abbreviation(form: str) -> bool:
    """Short or capitalised-inside forms are matched case-sensitively (KPK, Polri, KemenPANRB, BI)."""
    letters = form.replace(" ", "")
    return len(letters) <= 5 or any(c.isupper() for c in letters[1:]) or letters.isupper()


def surface_forms(agency: AgencyConfig, place_names: Iterable[str] = ()) -> list[SurfaceForm]:
    forms: list[SurfaceForm] = []

    def add(text: str, kind: str, until: dt.date | None = None, case_sensitive: bool | None = None) -> None:
        text = " ".join(text.split())
        if not text:
            return
        sensitive = is_abbreviation(text) if case_sensitive is None else case_sensitive
        forms.append(SurfaceForm(agency.id, text, sensitive, kind, until))
        if text.startswith("Kementerian "):  # a very common misspelling in news
            forms.append(SurfaceForm(agency.id, "Kementrian " + text[len("Kementerian "):], sensitive, kind, until))

    if agency.type in GENERATED_TYPES:  # government forms come from the place names (monitor/ingest/regional.py)
        for alias in agency.aliases:
            add(alias, "alias")
        return forms
    for holder in agency.holders:
        for title in agency.holder_titles:
            for name in (holder.name, *holder.short):
                text = f"{title} {' '.join(name.split())}"
                forms.append(SurfaceForm(agency.id, text, True, "holder", holder.until, holder.since))
    if agency.type == "provinsi":
        add(agency.name, "name", case_sensitive=False)
        for place in place_names:
            for prefix in PROVINCE_PREFIXES:
                add(f"{prefix} {place}", "province_form", case_sensitive=True)
    else:
        add(agency.name, "name", case_sensitive=False)
    for alias in agency.aliases:
        add(alias, "alias")
    for abbreviation in agency.abbreviations:
        add(abbreviation, "abbreviation", case_sensitive=True)
    for title in agency.leader_titles:
        add(title, "leader_title")
    for former in agency.former_names:
        add(former.name, "former_name", former.until)
        if former.alias:
            add(former.alias, "former_name", former.until, case_sensitive=True)
    return forms


def _add_form(index: dict[str, list[SurfaceForm]], key: str, form: SurfaceForm) -> None:
    """First form of a text wins (as the register lists them), except that holder terms add up."""
    forms = index.setdefault(key, [])
    if not forms or (form.kind == "holder" and all(f.kind == "holder" and f.agency_id == form.agency_id for f in forms)):
        forms.append(form)


def _pattern(form: SurfaceForm) -> str:
    parts = [re.escape(p) for p in form.text.split(" ")]
    body = r"\s+".join(parts)
    return body if form.case_sensitive else f"(?i:{body})"


class AgencyMatcher:
    """Finds agency mentions in text. Build once per run from the register."""

    def __init__(self, agencies: list[AgencyConfig], province_places: dict[str, list[str]] | None = None):
        province_places = province_places or {}
        self.forms: list[SurfaceForm] = []
        for agency in agencies:
            self.forms.extend(surface_forms(agency, province_places.get(agency.id, [])))
        # text -> its forms (several only for office holders with more than one term: "Wapres Jusuf Kalla")
        self._exact: dict[str, list[SurfaceForm]] = {}
        self._folded: dict[str, list[SurfaceForm]] = {}
        for form in self.forms:
            key = form.text
            if form.case_sensitive:
                for variant in dict.fromkeys((key, key.upper())):
                    _add_form(self._exact, variant, form)
            else:
                _add_form(self._folded, key.casefold(), form)
        # Longest first so the regex alternation prefers "Wamenkeu" over "Menkeu" at the same position.
        ordered = sorted({(_pattern(f), len(f.text)) for f in self.forms} | {
            (re.escape(f.text.upper()).replace(r"\ ", r"\s+"), len(f.text)) for f in self.forms if f.case_sensitive
        }, key=lambda p: -p[1])
        alternation = "|".join(p for p, _ in ordered)
        # "-nya" (its/the) is written glued to the noun in Indonesian: "Polrinya" is a mention of Polri.
        self._regex = re.compile(rf"(?<!{WORD})({alternation})(?:nya)?(?!{WORD})")
        self._excludes: dict[str, list[re.Pattern]] = {
            a.id: [re.compile(p) for p in a.exclude_phrases] for a in agencies if a.exclude_phrases
        }
        self._regional = RegionalMatcher(agencies)

    def _lookup(self, matched: str, day: dt.date | None) -> SurfaceForm | None:
        text = " ".join(matched.split())
        forms = self._exact.get(text) or self._folded.get(text.casefold()) or []
        return next((form for form in forms if form.valid_on(day)), None)

    def find(self, text: str, day: dt.date | None = None) -> list[tuple[int, int, SurfaceForm]]:
        """(start, end, form) of every mention in `text`, URLs masked, exclusions applied; `day` (the article's
        date) decides which office holder a "Presiden <name>" names."""
        if not text:
            return []
        masked = URL_RE.sub(lambda m: " " * len(m.group(0)), text)
        found = []
        excluded_spans: dict[str, list[tuple[int, int]]] = {}
        for match in self._regex.finditer(masked):
            form = self._lookup(match.group(1), day)
            if form is None:
                continue
            if form.kind in FOREIGN_APPLIES_TO and FOREIGN.match(masked, match.end()):
                continue
            if form.kind in TITLE_KINDS and FORMER_HOLDER.search(masked, max(0, match.start() - 30), match.start()):
                continue
            patterns = self._excludes.get(form.agency_id)
            if patterns:
                if form.agency_id not in excluded_spans:
                    excluded_spans[form.agency_id] = [m.span() for p in patterns for m in p.finditer(masked)]
                if any(s < match.end() and match.start() < e for s, e in excluded_spans[form.agency_id]):
                    continue
            found.append((match.start(), match.end(), form))
        taken = [(s, e) for s, e, _ in found]
        for hit in self._regional.find(masked):
            if FORMER_HOLDER.search(masked, max(0, hit.start - 30), hit.start):
                continue
            if not any(s < hit.end and hit.start < e for s, e in taken):
                found.append((hit.start, hit.end, SurfaceForm(hit.agency_id, hit.text, True, "regional_form")))
        return sorted(found, key=lambda item: (item[0], item[1]))

    def mentions(self, title: str | None, text: str | None, published_at: dt.datetime | None = None,
                 lead_sentences: int = 2, max_sentences: int = 20) -> list[AgencyMention]:
        """Aggregate mentions per agency for one article (title + text)."""
        by_agency: dict[str, AgencyMention] = {}
        day = published_at.date() if published_at else None

        def record(form: SurfaceForm, counted: bool = True) -> AgencyMention:
            mention = by_agency.setdefault(form.agency_id, AgencyMention(form.agency_id))
            mention.mention_count += counted
            if form.text not in mention.forms:
                mention.forms.append(form.text)
            if form.kind == "former_name" and form.until and day and day > form.until:
                mention.legacy_name = True
            return mention

        for _s, _e, form, counted in _defined_once(title or "", self.find(title or "", day)):
            record(form, counted).in_title = True
        sentences = split_sentences(text or "")
        for index, sentence in enumerate(sentences):
            for _s, _e, form, counted in _defined_once(sentence, self.find(sentence, day)):
                mention = record(form, counted)
                if index < lead_sentences:
                    mention.in_lead = True
                if sentence not in mention.sentences and len(mention.sentences) < max_sentences:
                    mention.sentences.append(sentence[:1000])
        return sorted(by_agency.values(), key=lambda m: (-m.mention_count, m.agency_id))


def _defined_once(text: str, found: list[tuple[int, int, SurfaceForm]]):
    """'Komisi Pemberantasan Korupsi (KPK)' is one reference, not two: the bracketed form is not counted again."""
    previous: tuple[int, int, SurfaceForm] | None = None
    for start, end, form in found:
        counted = not (previous is not None and previous[2].agency_id == form.agency_id
                       and re.fullmatch(r"\s*\(\s*", text[previous[1]:start]))
        yield start, end, form, counted
        previous = (start, end, form)


def split_sentences(text: str) -> list[str]:
    """Split news text into sentences; paragraphs first, then sentence ends not after common abbreviations."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        protected = ABBREVIATIONS_WITH_DOT.sub(lambda m: m.group(0).replace(". ", ".\x00"), paragraph)
        for sentence in SENTENCE_END.split(protected):
            sentence = sentence.replace("\x00", " ").strip()
            if sentence:
                sentences.append(sentence)
    return sentences


def lead_sentences_of(text: str | None, sentences: int = 2) -> str | None:
    """The lead: the first `sentences` sentences (at most 1,500 characters)."""
    if not text:
        return None
    return " ".join(split_sentences(text)[:sentences])[:1500] or None


def matcher_from_config(config) -> AgencyMatcher:
    """Build the matcher from a validated Config."""
    return AgencyMatcher(config.agencies, {a.id: a.place_names for a in config.agencies if a.type == "provinsi"})
