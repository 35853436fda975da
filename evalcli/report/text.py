"""The marked text both reports share: a small, safe subset of Markdown.

    report code ──esc(data) / code(data) / bold(marked)──► marked text
        ├─► report.md  as is (it *is* CommonMark)
        └─► report.html via to_html (this subset parsed back, then HTML-escaped)

Every piece of user or model text (answers, questions, gold answers, condition and dataset
names, errors, paths) enters a report only through ``esc`` or ``code``, so nothing in the
data can become a tag, a link, an image, emphasis or a table cell break:

- ``esc``: a backslash before each of \\ ` * _ [ ] ( ) < > & ! | ~ # (CommonMark lets any
  ASCII punctuation be escaped), and a zero-width space after "www" and "http(s):" so that
  GitHub's autolinker finds no address. Whitespace collapses to one space.
- ``code``: a code span fenced by one more backtick than the longest run inside; `|` is
  written \\| (a table cell must not end inside a code span).
- ``bold``: **…** around text already marked.
"""

from __future__ import annotations

import html
import re

_ESCAPE = re.compile(r"([\\`*_\[\]()<>&!|~#])")
_AUTOLINK = re.compile(r"(?i)(www|https?:|ftp:|mailto:)")
_ZWSP = "\u200b"


def _flat(text: object) -> str:
    return " ".join(str(text).split())


def esc(text: object) -> str:
    """Data as literal Markdown text (see module docstring)."""
    out = _ESCAPE.sub(r"\\\1", _flat(text))
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
