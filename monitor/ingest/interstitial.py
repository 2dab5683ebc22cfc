"""Pages that stand in front of the article: cookie-consent walls, bot checks, "are you human" challenges, age
gates (issue 14, kind 7). They answer 200, so without this check they would be stored as the article: their
canonical URL merges different stories into one row, their title replaces the headline, their text hides the
agencies the story names.

A page is an interstitial when the request was redirected to a URL that looks like one (a consent, cookie,
privacy, captcha, challenge or verify path, or a `continue=`/`return=`/`redirect=` parameter pointing back to the
article), or when its text is short and made of consent or challenge wording (two cues or more). The wording
table covers Indonesian and English walls (Google Funding Choices, OneTrust, Didomi, Cloudflare challenges).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

CONSENT_PATH = re.compile(r"(?i)/(?:consent|cookies?|gdpr|privacy-gate|privasi|persetujuan|interstitial|captcha|"
                          r"challenge|verify|verifikasi|robot|cdn-cgi/challenge-platform|__cf_chl|age-gate|usia)(?:[/?._-]|$)")
RETURN_KEYS = {"continue", "return", "returnurl", "return_url", "redirect", "redirect_url", "next", "dest", "destination",
               "back", "url", "target"}
# Wording that only walls use (news text says "setuju", "menolak" or "persetujuan DPR" every day: not cues).
CUES = (
    "cookie", "kuki", "pengaturan privasi", "kebijakan privasi", "iklan yang dipersonalisasi", "consent",
    "accept all", "reject all", "manage preferences", "we value your privacy", "bukan robot", "not a robot",
    "verifikasi bahwa anda", "verify you are human", "checking your browser", "just a moment",
    "enable javascript and cookies", "attention required", "pemeriksaan keamanan", "security check",
    "konfirmasi usia", "confirm your age",
)
_CUE = re.compile(r"\b(?:" + "|".join(re.escape(c) for c in CUES) + r")", re.I)
MAX_INTERSTITIAL_CHARS = 2500


def interstitial_reason(requested_url: str, final_url: str | None, text: str | None, title: str | None = None) -> str | None:
    """Why this page is an interstitial rather than the article, or None."""
    final = final_url or requested_url
    if final != requested_url:
        parts = urlsplit(final)
        if CONSENT_PATH.search(parts.path):
            return f"interstitial page instead of the article (redirected to {parts.path})"
        requested_path = urlsplit(requested_url).path
        for key, value in parse_qsl(parts.query):
            if key.lower() in RETURN_KEYS and requested_path and requested_path in unquote(value):
                return f"interstitial page instead of the article (redirected to {parts.path} with {key}= back to it)"
    body = f"{title or ''} {text or ''}".lower()
    if body.strip() and len(body) <= MAX_INTERSTITIAL_CHARS:
        found = sorted({m.group(0).lower() for m in _CUE.finditer(body)})
        if len(found) >= 2:
            return f"interstitial page instead of the article (consent or challenge wording: {', '.join(found[:3])})"
    return None
