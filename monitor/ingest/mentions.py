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
                     r"Timor Leste|Brunei|Selandia Baru|Qatar|Lebanon|Libya|Nigeria|Kenya|Zimbabwe|Venezuela|Meksiko|Argentina)\b")
FOREIGN_APPLIES_TO = ("name", "leader_title", "former_name", "alias")


@dataclass(frozen=True)
class SurfaceForm:
    agency_id: str
    text: str
    case_sensitive: bool
    kind: str  # name | alias | abbreviation | leader_title | former_name | province_form
    until: dt.date | None = None


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
        self._exact: dict[str, SurfaceForm] = {}
        self._folded: dict[str, SurfaceForm] = {}
        for form in self.forms:
            key = form.text
            if form.case_sensitive:
                self._exact.setdefault(key, form)
                self._exact.setdefault(key.upper(), form)
            else:
                self._folded.setdefault(key.casefold(), form)
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

    def _lookup(self, matched: str) -> SurfaceForm | None:
        text = " ".join(matched.split())
        return self._exact.get(text) or self._folded.get(text.casefold())

    def find(self, text: str) -> list[tuple[int, int, SurfaceForm]]:
        """(start, end, form) of every mention in `text`, URLs masked, exclusions applied."""
        if not text:
            return []
        masked = URL_RE.sub(lambda m: " " * len(m.group(0)), text)
        found = []
        excluded_spans: dict[str, list[tuple[int, int]]] = {}
        for match in self._regex.finditer(masked):
            form = self._lookup(match.group(1))
            if form is None:
                continue
            if form.kind in FOREIGN_APPLIES_TO and FOREIGN.match(masked, match.end()):
                continue
            patterns = self._excludes.get(form.agency_id)
            if patterns:
                if form.agency_id not in excluded_spans:
                    excluded_spans[form.agency_id] = [m.span() for p in patterns for m in p.finditer(masked)]
                if any(s < match.end() and match.start() < e for s, e in excluded_spans[form.agency_id]):
                    continue
            found.append((match.start(), match.end(), form))
        return found

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

        for _s, _e, form, counted in _defined_once(title or "", self.find(title or "")):
            record(form, counted).in_title = True
        sentences = split_sentences(text or "")
        for index, sentence in enumerate(sentences):
            for _s, _e, form, counted in _defined_once(sentence, self.find(sentence)):
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
