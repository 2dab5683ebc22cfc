"""A Google News search feed per followed agency, built from the register (issue 15, part 2).

An agency is followed when `settings.follow` lists its id or its entry says `follow: true`. Its search phrases,
in this order (the first ones matter most when a query must be split):
1. the name; for kabupaten/kota and provinces the government forms of each place name (Pemkab/Bupati/Pemerintah
   Kabupaten X, Pemkot/Wali Kota/Pemerintah Kota X, Pemprov/Gubernur X);
2. abbreviations of three or more letters (a two-letter one such as "BI" or "MA" matches every page that uses
   the letters: Google News search ignores case);
3. aliases, leader titles and the current holder's title and names ("Presiden Prabowo");
4. former names and their abbreviations that ended less than `RECENT_FORMER_NAME_DAYS` ago.
Each phrase is quoted. A query is `when:1d "A" OR "B" …`, Indonesian edition (hl=id, gl=ID, ceid=ID:id); the
time window comes first so that it is never the word a too-long query loses.

Limits: Google search reads at most 32 words of a query and ignores the rest ("Google limits queries to 32
words", Google Search Help); the operators OR and when:1d count as words, and Google splits "ATR/BPN" into two.
So words are counted as runs of letters and digits, and phrases are packed greedily into queries of at most
`MAX_QUERY_WORDS` (30: a margin under 32), one feed each (`follow-<id>`, `follow-<id>-2`, …), at most
`MAX_FEEDS_PER_AGENCY` feeds; phrases beyond them are named in the feed's `notes`, never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

# No import of monitor.config: parse_config calls this module, so agencies come in as its validated AgencyConfig
# objects (read by attribute) and feeds go out as feeds.yaml entries (dicts) that parse_config validates.

MAX_QUERY_WORDS = 30
MAX_FEEDS_PER_AGENCY = 3
RECENT_FORMER_NAME_DAYS = 2 * 365
MIN_ABBREVIATION_LETTERS = 3
WINDOW = "when:1d"
EDITION = "hl=id&gl=ID&ceid=ID:id"
SEARCH_URL = "https://news.google.com/rss/search?q={query}&" + EDITION
GOVERNMENT_FORMS = {
    "kabupaten": ("Pemerintah Kabupaten {}", "Pemkab {}", "Bupati {}"),
    "kota": ("Pemerintah Kota {}", "Pemkot {}", "Wali Kota {}", "Walikota {}"),
    "provinsi": ("Pemprov {}", "Gubernur {}"),
}


def followed_ids(follow: list[str], agencies: list[Any]) -> list[str]:
    """Ids of the followed agencies: `settings.follow` in its order, then agencies marked `follow: true`."""
    ids = list(follow)
    ids += [a.id for a in agencies if a.follow and a.id not in ids]
    return ids


def search_phrases(agency: Any, today: dt.date) -> list[str]:
    """The phrases a search for `agency` looks for, most important first, without repeats (case-insensitive)."""
    phrases = [agency.name]
    for place in agency.place_names:
        phrases += [form.format(place) for form in GOVERNMENT_FORMS.get(agency.type, ())]
    phrases += [a for a in agency.abbreviations if len(a.replace(" ", "")) >= MIN_ABBREVIATION_LETTERS]
    phrases += [*agency.aliases, *agency.leader_titles]
    for holder in agency.holders:
        if holder.since <= today and (holder.until is None or today < holder.until):
            phrases += [f"{title} {name}" for title in agency.holder_titles for name in (*holder.short, holder.name)]
    recent = today - dt.timedelta(days=RECENT_FORMER_NAME_DAYS)
    for former in agency.former_names:
        if former.until is None or former.until >= recent:
            phrases += [former.name] + ([former.alias] if former.alias else [])
    seen: set[str] = set()
    unique = []
    for phrase in (" ".join(p.replace('"', " ").split()) for p in phrases):
        if phrase and phrase.lower() not in seen:
            seen.add(phrase.lower())
            unique.append(phrase)
    return unique


def query_words(text: str) -> int:
    """Words as a search engine counts them: runs of letters and digits ("ATR/BPN" is two)."""
    return len(re.findall(r"[^\W_]+", text))


def pack_queries(phrases: list[str], max_words: int = MAX_QUERY_WORDS) -> list[list[str]]:
    """Phrases in groups whose query (`when:1d "A" OR "B"`) has at most `max_words` words, order kept. A phrase
    longer than the limit on its own gets a query of its own (Google then reads its first words only; the time
    window, first, is kept)."""
    groups: list[list[str]] = []
    words = 0
    for phrase in phrases:
        size = query_words(phrase)
        if groups and words + 1 + size <= max_words:  # "OR" + the phrase
            groups[-1].append(phrase)
            words += 1 + size
        else:
            groups.append([phrase])
            words = size + 2  # + the when:1d operator (two words)
    return groups


def search_url(phrases: list[str]) -> str:
    """The Google News RSS search URL for `when:1d "A" OR "B" …` in the Indonesian edition."""
    query = f"{WINDOW} " + " OR ".join(f'"{p}"' for p in phrases)
    return SEARCH_URL.format(query=quote(query, safe=""))


def follow_feeds(follow: list[str], agencies: list[Any], today: dt.date) -> list[dict[str, Any]]:
    """feeds.yaml entries of the search feeds of every followed agency (see the module docstring), for
    `settings.follow` (ids) and `agencies` (AgencyConfig). Raises KeyError(index) for an id in `follow` that is
    not in the register or listed twice."""
    known = {a.id: a for a in agencies}
    for index, agency_id in enumerate(follow):
        if agency_id not in known or agency_id in follow[:index]:
            raise KeyError(index)
    feeds = []
    for agency_id in followed_ids(follow, agencies):
        groups = pack_queries(search_phrases(known[agency_id], today))
        kept, left_out = groups[:MAX_FEEDS_PER_AGENCY], [p for g in groups[MAX_FEEDS_PER_AGENCY:] for p in g]
        notes = f"search for followed agency {agency_id}" + (
            f"; {len(left_out)} phrases over the query limit left out: {', '.join(left_out)}" if left_out else "")
        for number, group in enumerate(kept, 1):
            feeds.append({"name": f"follow-{agency_id}" + (f"-{number}" if number > 1 else ""),
                          "url": search_url(group), "outlet": "Google News", "kind": "google_news",
                          "follows": agency_id, "notes": notes, "fallback": "none"})
    return feeds


def search_feeds_by_agency(feeds: list[Any]) -> dict[str, list[str]]:
    """Followed agency id → the names of its search feeds, from the configured feeds (FeedConfig)."""
    out: dict[str, list[str]] = {}
    for feed in feeds:
        if feed.follows:
            out.setdefault(feed.follows, []).append(feed.name)
    return out


def config_summary(config: Any) -> str:
    """"50 feeds from 45 outlets, 1804 agencies, 12 topics; 3 of the feeds search for 2 followed agencies"."""
    follows = search_feeds_by_agency(config.feeds)
    return (f"{len(config.feeds)} feeds from {len({f.outlet for f in config.feeds})} outlets, {len(config.agencies)} "
            f"agencies, {len(config.topics)} topics"
            + (f"; {sum(map(len, follows.values()))} of the feeds search for {len(follows)} followed agencies"
               if follows else ""))


def search_queries(feeds: list[Any]) -> list[str]:
    """One line per search feed of a followed agency (FeedConfig): its name, the query as typed into Google News
    and its word count against Google's 32, then the phrases left over the query limit, if any; [] when no agency
    is followed. For `monitor feeds check --queries`."""
    lines: list[str] = []
    said: set[str] = set()
    for feed in feeds:
        if not feed.follows:
            continue
        query = parse_qs(urlsplit(feed.url).query).get("q", [""])[0]
        lines.append(f"{feed.name:<28} {query}  ({query_words(query)} words)")
        left_out = (feed.notes or "").partition("left out: ")[2]
        if left_out and feed.follows not in said:  # every feed of the agency carries the same note
            lines.append(f"{'':<28} left out (over {MAX_FEEDS_PER_AGENCY} queries): {left_out}")
        said.add(feed.follows)
    return lines
