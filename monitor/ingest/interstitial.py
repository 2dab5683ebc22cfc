"""Pages that stand in front of the article: cookie-consent walls, bot checks, "are you human" challenges, age
gates (issue 14, kind 7). They answer 200, so without this check they would be stored as the article: their
canonical URL merges different stories into one row, their title replaces the headline, their text hides the
agencies the story names.

A page is an interstitial when
- the request was redirected to a wall: a URL on a `consent.` host, or one whose path has a whole segment naming
  a wall (`/consent`, `/cookies`, `/captcha`, `/cdn-cgi/challenge-platform`…; an article slug such as
  `/persetujuan-dpr-atas-…` or `/usia-pensiun-…` is not a segment of that kind), or with a `continue=`/`return=`
  parameter pointing back to the article;
- or its wording is a wall's own interface: the title is a short wall title ("Just a moment...", "Pilihan Cookie
  dan Privasi Anda"), or the text is short (≤ 600 characters) with two wall phrases, or very short (≤ 300) with one.

Wall phrases are button and banner strings (Google Funding Choices, OneTrust, Didomi, Cloudflare, DDoS-Guard,
Sucuri; Indonesian and English). Words a news story about privacy or cookies uses ("cookie", "kebijakan
privasi", "persetujuan", "verifikasi", "pemeriksaan keamanan") are not cues: Komdigi and BSSN stories use them
every day.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

WALL_SEGMENTS = {"consent", "cookie", "cookies", "cookie-consent", "gdpr", "privacy-gate", "persetujuan-cookie",
                 "interstitial", "captcha", "challenge", "challenge-platform", "verify", "verifikasi", "robot",
                 "age-gate", "agegate", "age-verification", "__cf_chl_rt_tk", "ddos-guard", "sucuri"}
RETURN_KEYS = {"continue", "return", "returnurl", "return_url", "redirect", "redirect_url", "next", "dest", "destination",
               "back", "url", "target"}
WALL_PHRASES = (
    # consent banners and walls
    "pilihan cookie", "pengaturan cookie", "preferensi cookie", "kami dan mitra kami", "iklan yang dipersonalisasi",
    "terima semua", "tolak semua", "setujui semua", "kelola preferensi", "kelola opsi", "dengan memilih setuju",
    "sebelum anda melanjutkan", "kami menghargai privasi anda", "accept all", "reject all", "manage preferences",
    "manage options", "we value your privacy", "before you continue", "we and our partners",
    # bot checks and challenges
    "checking your browser", "verify you are human", "verifying you are human", "memverifikasi bahwa anda",
    "verifikasi bahwa anda", "just a moment", "tunggu sebentar", "enable javascript and cookies",
    "attention required", "saya bukan robot", "i'm not a robot", "ddos protection by", "ddos-guard",
    "sucuri website firewall", "access denied", "akses ditolak",
    # age gates
    "konfirmasi usia anda", "confirm your age", "are you 18",
)
_PHRASE = re.compile("|".join(re.escape(p) for p in WALL_PHRASES), re.I)
MAX_WALL_TITLE_WORDS = 6
MAX_TWO_PHRASE_CHARS = 600
MAX_ONE_PHRASE_CHARS = 300


def interstitial_reason(requested_url: str, final_url: str | None, text: str | None, title: str | None = None) -> str | None:
    """Why this page is an interstitial rather than the article, or None. `requested_url` is the URL this fetch
    asked for, `final_url` where its redirects ended."""
    redirect = _redirect_reason(requested_url, final_url or requested_url)
    if redirect is not None:
        return redirect
    title_phrases = _phrases(title or "")
    if title_phrases and len(re.findall(r"\w+", title or "")) <= MAX_WALL_TITLE_WORDS:
        return f"interstitial page instead of the article (title {title!r})"
    body = " ".join(part for part in (title, text) if part)
    found = _phrases(body)
    if (len(found) >= 2 and len(body) <= MAX_TWO_PHRASE_CHARS) or (found and len(body) <= MAX_ONE_PHRASE_CHARS):
        return f"interstitial page instead of the article (wall wording: {', '.join(found[:3])})"
    return None


def _phrases(text: str) -> list[str]:
    return sorted({m.group(0).lower() for m in _PHRASE.finditer(text)})


def _redirect_reason(requested_url: str, final_url: str) -> str | None:
    if final_url == requested_url:
        return None
    parts = urlsplit(final_url)
    host = (parts.hostname or "").lower()
    if host.startswith("consent.") and host != (urlsplit(requested_url).hostname or "").lower():
        return f"interstitial page instead of the article (redirected to {host})"
    segments = [re.sub(r"\.(?:html?|php|aspx?)$", "", s.lower()) for s in parts.path.split("/") if s]
    if any(segment in WALL_SEGMENTS for segment in segments):
        return f"interstitial page instead of the article (redirected to {parts.path})"
    requested_path = urlsplit(requested_url).path
    for key, value in parse_qsl(parts.query):
        if key.lower() in RETURN_KEYS and requested_path not in ("", "/") and requested_path in unquote(value):
            return f"interstitial page instead of the article (redirected to {parts.path} with {key}= back to it)"
    return None
