"""The marked text both reports share: a small, safe subset of Markdown.

    report code ──esc(data) / code(data) / bold(marked)──► marked text
        ├─► report.md  as is (it *is* CommonMark)
        └─► report.html via to_html (this subset parsed back, then HTML-escaped)

Every piece of user or model text (answers, questions, gold answers, condition and dataset
names, errors, paths) enters a report only through ``esc`` or ``code``, so nothing in the
data can become a tag, a link, an image, emphasis or a table cell break:

- ``esc``: a backslash before what CommonMark with GFM tables and strikethrough would read as
  markup, and only that, so the raw report.md stays readable (`top_p`, `(open/closed)`,
  `p < 0.05` as written): always ` * [ ] | ~; a \\ before punctuation or at the end; a _
  not inside a word (`_em_` is emphasis, `top_p` is not); < before a letter, / ! or ? (a tag,
  an autolink); & before a letter or # (an entity); and at the start, where the text may
  open a list item or a table cell, a > and a # - + or `1.` / `1)` that opens a block. No link can
  form without an unescaped [, so ( ) and ! stay. A zero-width space after "www" and
  "http(s):" so that GitHub's autolinker finds no address. Whitespace collapses to one
  space. tests/unit/test_report_safety.py renders escaped text with markdown-it and gets
  the text back, for generated strings and in a paragraph, a list item and a table cell.
- ``code``: a code span fenced by one more backtick than the longest run inside; `|` is
  written \\| (a table cell must not end inside a code span).
- ``bold``: **…** around text already marked.
"""

from __future__ import annotations

import html
import re

_ALWAYS = frozenset("`*[]|~")
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# what opens a block where a line starts: a quote, a heading, a bullet, a thematic break, a
# numbered item (its . or ) is escaped)
_LEADING = re.compile(r"^(?:>|#(?=#{0,5}(?: |$))|[-+](?= |$|-)|\d{1,9}(?=[.)](?: |$)))")
_AUTOLINK = re.compile(r"(?i)(www|https?:|ftp:|mailto:)")
_ZWSP = "\u200b"


def _flat(text: object) -> str:
    return " ".join(str(text).split())


def _marks(flat: str, i: int) -> bool:
    """Whether flat[i] would be read as markup where it stands (see module docstring)."""
    ch = flat[i]
    after = flat[i + 1] if i + 1 < len(flat) else ""
    if ch in _ALWAYS:
        return True
    if ch == "\\":
        return not after or after in _PUNCT
    if ch == "_":
        before = flat[i - 1] if i else ""
        return not (before.isalnum() and after.isalnum())
    if ch == "<":
        return after.isalpha() or after in ("/", "!", "?")
    if ch == "&":
        return after.isalpha() or after == "#"
    return False


def esc(text: object) -> str:
    """Data as literal Markdown text (see module docstring)."""
    flat = _flat(text)
    out = "".join(f"\\{ch}" if _marks(flat, i) else ch for i, ch in enumerate(flat))
    lead = _LEADING.match(out)
    if lead:  # a list marker, heading, quote or numbered item where a line may start
        at = lead.end() if lead.group().isdigit() else 0
        out = f"{out[:at]}\\{out[at:]}"
    return _AUTOLINK.sub(lambda m: m.group(1) + _ZWSP, out)


def code(text: object) -> str:
    """Data as a code span (literal in CommonMark: no markup inside)."""
    body = _flat(text).replace("|", "\\|")
    if not body:
        return esc("")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def bold(marked: str) -> str:
    return f"**{marked}**"


_TOKEN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)|\\([!-/:-@\[-`{-~])|(\*\*)", re.S)


def to_html(marked: str) -> str:
    """HTML for marked text: code spans, backslash escapes and ** parsed; the rest escaped."""
    out, pos, strong = [], 0, False
    for m in _TOKEN.finditer(marked):
        out.append(html.escape(marked[pos:m.start()], quote=False))
        if m.group(1):
            body = m.group(2).replace("\\|", "|")
            if body.startswith(" ") and body.endswith(" ") and body.strip():
                body = body[1:-1]
            out.append(f"<code>{html.escape(body, quote=False)}</code>")
        elif m.group(3):
            out.append(html.escape(m.group(3), quote=False))
        else:
            out.append("</strong>" if strong else "<strong>")
            strong = not strong
        pos = m.end()
    out.append(html.escape(marked[pos:], quote=False))
    if strong:
        out.append("</strong>")
    return "".join(out)
