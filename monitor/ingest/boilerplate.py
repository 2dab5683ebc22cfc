"""Inline boilerplate that article extractors keep: related-story teasers ("Baca juga: …"), advertisement and
scroll markers, and reader-comment blocks with Indonesian names (issue 14, kinds 6 and 11).

Teasers name other stories, often about other agencies; comments are anonymous readers' opinions. Left in the text
they become false mentions and false tone. Two steps, both before trafilatura sees the page and again on its text:

- `clean_html` drops elements whose class or id names a comment block (`COMMENT_BLOCK`, Indonesian and English
  names) or a related-stories box (`RELATED_BLOCK`), and every paragraph-like element whose text starts with a
  teaser lead-in (`TEASER_LEADINS`) or is a bare marker (`MARKERS`);
- `strip_lines` drops the same lead-ins and markers from extracted text, line by line.

The tables come from the markups of Indonesian portals (Kompas "Baca juga", Detik "Baca juga"/"Simak juga",
Tribun "Baca:"/"Berita terkait", CNN Indonesia "Lihat juga", Kumparan "Simak selengkapnya", and the
ABPindo/indonesianadblockrules lists of related-article and comment selectors).
"""

from __future__ import annotations

import re

TEASER_LEADINS = (
    "baca juga", "baca pula", "baca:", "baca selengkapnya", "simak juga", "simak:", "simak selengkapnya",
    "lihat juga", "lihat:", "berita terkait", "artikel terkait", "berita lainnya", "berita lain", "terkait:",
    "jangan lewatkan", "klik di sini", "klik untuk", "cek berita", "tonton juga", "saksikan juga", "ikuti berita",
    "dapatkan update", "ikuti kami", "follow us", "read also", "see also", "also read", "related:",
)
MARKERS = (
    "advertisement", "iklan", "scroll to continue with content", "scroll untuk melanjutkan", "gulir untuk melanjutkan",
    "scroll ke bawah untuk melanjutkan", "lanjutkan membaca", "continue reading", "pasang iklan", "sponsored",
    "konten bersponsor",
)
COMMENT_BLOCK = re.compile(r"(?i)(?:^|[\s_-])(?:kolom[-_]?komentar|komentar|komen|tanggapan|diskusi|comments?|"
                           r"disqus|fb-comments|reply|respond)(?:$|[\s_-])")
RELATED_BLOCK = re.compile(r"(?i)(?:^|[\s_-])(?:baca[-_]?juga|berita[-_]?terkait|artikel[-_]?terkait|related|"
                           r"read[-_]?also|lihat[-_]?juga|inline[-_]?related|ads?|iklan|advertisement)(?:$|[\s_-])")
PARAGRAPH_TAGS = ("p", "div", "li", "span", "strong", "b", "h2", "h3", "h4", "h5", "h6", "blockquote", "section")
MAX_TEASER_CHARS = 400  # a teaser is a lead-in and a headline or two; a long paragraph is story text
_LEADIN = re.compile(r"^\W*(?:" + "|".join(re.escape(p) for p in TEASER_LEADINS) + r")", re.I)
_MARKER = re.compile(r"^\W*(?:" + "|".join(re.escape(m) for m in MARKERS) + r")\W*$", re.I)


def is_boilerplate_line(text: str) -> bool:
    """A teaser line ("Baca juga: …", at most MAX_TEASER_CHARS) or a bare marker ("ADVERTISEMENT")."""
    line = " ".join(text.split())
    return bool(line) and ((len(line) <= MAX_TEASER_CHARS and bool(_LEADIN.match(line))) or bool(_MARKER.match(line)))


def clean_html(html: str) -> tuple[str, int]:
    """(the page without comment blocks, related boxes and teaser paragraphs, elements removed). A page lxml
    cannot parse is returned unchanged (the extractor then reports it)."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return html, 0
    doomed = []
    for element in root.iter(*PARAGRAPH_TAGS, "ul", "ol", "aside", "footer", "form"):
        names = f"{element.get('class') or ''} {element.get('id') or ''}".strip()
        if names and (COMMENT_BLOCK.search(names) or RELATED_BLOCK.search(names)):
            doomed.append(element)
        elif element.tag in PARAGRAPH_TAGS and is_boilerplate_line(element.text_content()):
            doomed.append(element)
    removed = 0
    for element in doomed:
        parent = element.getparent()
        if parent is not None and not any(a in doomed for a in element.iterancestors()):
            tail = element.tail
            parent.remove(element)
            removed += 1
            if tail and tail.strip():
                parent.text = (parent.text or "") + tail
    if not removed:
        return html, 0
    return lxml.html.tostring(root, encoding="unicode"), removed


def strip_lines(text: str) -> tuple[str, int]:
    """(text without teaser and marker lines, lines removed)."""
    kept, removed = [], 0
    for line in text.split("\n"):
        if is_boilerplate_line(line):
            removed += 1
        else:
            kept.append(line)
    return "\n".join(kept).strip(), removed
