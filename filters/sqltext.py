"""Escaping of identifiers and literals for Flink SQL, so no filter value can change a statement's meaning.

Checked against Flink 2.2: inside '...' a backslash is an ordinary character and a quote is doubled;
U&'...' understands \\XXXX (UTF-16 code units, so a surrogate pair spells an emoji) and \\\\, but not
\\+XXXXXX. Control characters, non-ASCII text and sequences a naive statement splitter or comment stripper
could trip over (; -- /*) are therefore written as U&'...' escapes, which keeps every generated
statement on printable ASCII.
"""

from __future__ import annotations

import math
from decimal import Decimal

# Printable ASCII that may appear verbatim inside a plain '...' literal. ';' is left out so a
# statement splitter can never cut inside a literal; '-', '/' and '*' are kept but checked in pairs.
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - {";"}
# Inside U&'...' only these pass verbatim; everything else becomes \XXXX.
_UNICODE_VERBATIM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:=+!?@#$%^&()[]{}<>|~`\"")


def quote_identifier(name: str) -> str:
    """Backtick-quote an identifier (`raw` and friends are reserved); a backtick is doubled."""
    if not name:
        raise ValueError("empty SQL identifier")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise ValueError(f"control character in SQL identifier {name!r}")
    return "`" + name.replace("`", "``") + "`"


def quote_string(text: str) -> str:
    """A Flink SQL character literal whose value is exactly `text`."""
    if all(ch in _PLAIN for ch in text) and "--" not in text and "/*" not in text and "*/" not in text:
        return "'" + text.replace("'", "''") + "'"
    out = []
    for ch in text:
        if ch == "'":
            out.append("''")
        elif ch in _UNICODE_VERBATIM:
            out.append(ch)
        else:
            # UTF-16 code units: characters beyond the BMP become a surrogate pair, as Java stores them.
            units = ch.encode("utf-16-be")
            for i in range(0, len(units), 2):
                out.append("\\%04X" % int.from_bytes(units[i : i + 2], "big"))
    return "U&'" + "".join(out) + "'"


def double_literal(value: float) -> str:
    """An approximate-numeric literal (always with an exponent, so Flink types it DOUBLE, not DECIMAL)."""
    if not math.isfinite(value):
        raise ValueError(f"no SQL literal for non-finite number {value!r}")
    if value == 0:
        return "0E0"  # -0.0 compares equal to 0.0 in Flink and in Python
    # repr() gives the shortest digits that round-trip; write them as d.ddd E n.
    _, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    body = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return ("-" if value < 0 else "") + f"{body}E{exponent + len(text) - 1}"


def boolean_literal(value: bool) -> str:
    return "TRUE" if value else "FALSE"
