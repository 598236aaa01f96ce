"""User text shown safely: on one line in a terminal, isolated in the HTML report.

A name, key or path comes from a file or a command line, and may hold characters that
change how the text around it is shown: a line break that splits a one-line message, an
escape sequence, or a bidirectional control (U+202E RIGHT-TO-LEFT OVERRIDE and its kin)
that makes `amazon<U+202E>lmth.exe` read as `amazonexe.html` and reorders what follows
it on the line. A terminal cannot be trusted to isolate them, so `visible` writes each
such character as its escape (`\\u202e`): what is shown is what is there. The HTML
report keeps the user's text but `isolated` escapes the same controls and wraps text
with right-to-left letters in U+2068 FIRST STRONG ISOLATE ... U+2069 POP DIRECTIONAL
ISOLATE, so that it is laid out on its own and cannot reorder the page around it (the
Unicode equivalent of `<bdi>`, which also works inside attributes and the title).
"""

from __future__ import annotations

import unicodedata
from typing import Any

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""ARABIC LETTER MARK, LRM, RLM, the embeddings and overrides (LRE, RLE, PDF, LRO, RLO)
and the isolates (LRI, RLI, FSI, PDI)."""
FSI, PDI = "\u2068", "\u2069"


def _escape(char: str) -> str:
    """`\\n`, `\\x1b`, `\\u202e`: the character as Python writes it in a string."""
    code = ord(char)
    if char in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _hidden(char: str) -> bool:
    """A character that is not shown as itself: controls (C0, C1, DEL), bidi controls,
    line and paragraph separators, and other format or unassigned characters. Not a lone
    surrogate: that is an undecodable byte of a file name or a command line (Python's
    `surrogateescape`), which stderr already writes as its escape."""
    if char in BIDI_CONTROLS:
        return True
    return not char.isprintable() and char != " " and not "\ud800" <= char <= "\udfff"


def visible(text: str) -> str:
    """`text` for a terminal line: every hidden character written as its escape."""
    if text.isprintable() and not BIDI_CONTROLS.intersection(text):
        return text  # the common case, at the cost of one scan
    return "".join(_escape(c) if _hidden(c) else c for c in text)


def _right_to_left(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def isolated(value: Any) -> Any:
    """A value for the HTML report (Jinja's `finalize`): text with bidi controls has them
    escaped, and text with right-to-left letters is wrapped in FSI ... PDI. Other values,
    and plain text, are returned as they are."""
    if not isinstance(value, str) or hasattr(value, "__html__") or value.isascii():
        return value  # Markup (a macro's output) had its own values isolated
    text = "".join(_escape(c) if c in BIDI_CONTROLS else c for c in value)
    if text != value or _right_to_left(text):
        return f"{FSI}{text}{PDI}"
    return value
