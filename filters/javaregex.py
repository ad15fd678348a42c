"""Java regular expressions (what Flink's REGEXP runs) translated to Python `re`, or rejected.

Flink evaluates `matches` as REGEXP(x, pattern): java.util.regex `find()`, true when any substring
matches. Only *whether* a match exists matters, so greedy/lazy differences are irrelevant; what must be
identical is the set of strings each construct accepts. This module accepts the subset of Java syntax
whose meaning it can reproduce exactly and rejects the rest with a message naming the construct:

- `.` excludes Java's line terminators (\\n \\r \\u0085 \\u2028 \\u2029), unless (?s) is given;
- `$` and `\\Z` match at the end or before one final line terminator (Java's rule, incl. \\r\\n);
- `\\d \\w \\s` are ASCII in Java by default, like Python with re.ASCII; (?i) folds ASCII only in both;
- rejected: \\b \\B (Java 17 word boundaries use Unicode letters while \\w is ASCII), \\p{..}, \\Q..\\E,
  back-references, named groups, atomic groups, possessive quantifiers, inline flags other than a
  leading (?i)/(?s), nested classes and class intersection (&&), \\h \\v \\R \\X \\G, surrogate escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_TERMINATORS = "\n\r\u0085\u2028\u2029"
_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"
_DOT_ALL = "[\\s\\S]"
# Java's `$` without MULTILINE: at the end, before a final \r\n, or before one final terminator
# (but never between \r and \n).
_DOLLAR = "(?:(?=\\r\\n\\Z)|(?<!\\r)(?=\\n\\Z)|(?=[\\r\\x85\\u2028\\u2029]\\Z)|\\Z)"

_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "a": "\a", "e": "\x1b"}
_CLASS_ESCAPES = {"d", "D", "w", "W", "s", "S"}
_REJECTED_ESCAPES = {
    "b": "\\b (word boundary) is not supported: Java 17 decides word characters with Unicode letters "
    "while \\w is ASCII-only; write the boundary explicitly, e.g. (?<![A-Za-z0-9_])",
    "B": "\\B is not supported (see \\b); write the condition explicitly with lookarounds",
    "p": "\\p{...} Unicode/POSIX classes are not supported; list the characters in [...]",
    "P": "\\P{...} Unicode/POSIX classes are not supported; list the characters in [^...]",
    "Q": "\\Q...\\E quoting is not supported; escape each special character with a backslash",
    "E": "\\E without \\Q is not supported",
    "G": "\\G is not supported",
    "h": "\\h is not supported; list the horizontal whitespace characters in [...]",
    "H": "\\H is not supported",
    "v": "\\v is not supported (it means different characters in Java and Python); use [...]",
    "V": "\\V is not supported",
    "R": "\\R is not supported; use (?:\\r\\n|[\\n\\r])",
    "X": "\\X is not supported",
    "N": "\\N{...} is not supported; use \\uXXXX",
    "k": "named back-references \\k<name> are not supported",
}


class JavaRegexError(ValueError):
    """`offset` is the 0-based position in the pattern of the offending construct."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class TranslatedRegex:
    python_pattern: str
    ignore_case: bool

    def compile(self) -> re.Pattern[str]:
        return re.compile(self.python_pattern, re.ASCII | (re.IGNORECASE if self.ignore_case else 0))


def translate(pattern: str) -> TranslatedRegex:
    """Translate a Java pattern; raise JavaRegexError for anything whose meaning would differ."""
    if pattern == "":
        # Flink's REGEXP returns FALSE for an empty pattern, unlike Java's find(); avoid the question.
        raise JavaRegexError("the pattern is empty; write a pattern that matches something, e.g. '.*'", 0)
    parser = _Parser(pattern)
    result = parser.parse()
    try:
        result.compile()
    except re.error as exc:
        message = str(exc).split(" at position")[0]
        if "look-behind" in message:
            message = "a lookbehind must match a fixed number of characters"
        raise JavaRegexError(message, exc.pos if exc.pos is not None else 0) from None
    return result


class _Parser:
    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0
        self.dotall = False
        self.ignore_case = False

    def error(self, message: str, at: int | None = None) -> JavaRegexError:
        return JavaRegexError(message, self.i if at is None else at)

    def parse(self) -> TranslatedRegex:
        self._leading_flags()
        out = self._alternation(depth=0)
        if self.i < len(self.p):  # only a stray ')' stops the top level early
            raise self.error("unmatched ')'")
        return TranslatedRegex(out, self.ignore_case)

    def _leading_flags(self) -> None:
        m = re.match(r"\(\?([a-zA-Z-]*)\)", self.p)
        if not m:
            return
        flags = m.group(1)
        if not flags or any(f not in "is" for f in flags):
            raise self.error(
                f"inline flags (?{flags}) are not supported; only a leading (?i), (?s) or (?is) is", 0
            )
        self.ignore_case = "i" in flags
        self.dotall = "s" in flags
        self.i = m.end()

    def _alternation(self, depth: int) -> str:
        branches = [self._sequence(depth)]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            branches.append(self._sequence(depth))
        return "|".join(branches)

    def _sequence(self, depth: int) -> str:
        parts: list[str] = []
        while self.i < len(self.p):
            ch = self.p[self.i]
            if ch == "|":
                break
            if ch == ")":
                if depth == 0:
                    raise self.error("unmatched ')'")
                break
            start = self.i
            atom, quantifiable = self._atom(depth)
            quant = self._quantifier()
            if quant:
                if not quantifiable:
                    raise self.error("a quantifier needs something to repeat", start)
                atom = f"(?:{atom}){quant}"
            parts.append(atom)
        return "".join(parts)

    def _quantifier(self) -> str:
        p, i = self.p, self.i
        if i >= len(p):
            return ""
        ch = p[i]
        if ch in "*+?":
            q = ch
            i += 1
        elif ch == "{":
            m = re.compile(r"\{(\d+)(,(\d*))?\}").match(p, i)
            if not m:
                raise self.error("'{' must start a repetition {n}, {n,} or {n,m}; write \\{ for a literal brace")
            low = int(m.group(1))
            high = m.group(3)
            if high not in (None, "") and int(high) < low:
                raise self.error(f"repetition {m.group()} has its maximum below its minimum")
            q = m.group()
            i = m.end()
        else:
            return ""
        if i < len(p) and p[i] == "?":
            q += "?"
            i += 1
        elif i < len(p) and p[i] == "+":
            raise self.error("possessive quantifiers (*+, ++, ?+, {n}+) are not supported", i)
        if i < len(p) and p[i] in "*+?{":
            raise self.error("a quantifier cannot follow another quantifier; group the first one", i)
        self.i = i
        return q

    def _atom(self, depth: int) -> tuple[str, bool]:
        p = self.p
        ch = p[self.i]
        if ch == "(":
            return self._group(depth)
        if ch == "[":
            return self._class(), True
        if ch == ".":
            self.i += 1
            return (_DOT_ALL if self.dotall else _DOT), True
        if ch == "^":
            self.i += 1
            return "^", False  # without MULTILINE both mean the start of the input
        if ch == "$":
            self.i += 1
            return _DOLLAR, False
        if ch == "\\":
            return self._escape_outside_class()
        if ch in "*+?":
            raise self.error(f"'{ch}' has nothing to repeat; write \\{ch} for the character")
        if ch == "{":
            raise self.error("'{' has nothing to repeat; write \\{ for a literal brace")
        self.i += 1
        return _literal(ch), True

    def _group(self, depth: int) -> tuple[str, bool]:
        p, start = self.p, self.i
        if p.startswith("(?", start):
            for opener, python, quantifiable in (
                ("(?:", "(?:", True),
                ("(?=", "(?=", False),
                ("(?!", "(?!", False),
                ("(?<=", "(?<=", False),
                ("(?<!", "(?<!", False),
            ):
                if p.startswith(opener, start):
                    self.i = start + len(opener)
                    inner = self._alternation(depth + 1)
                    self._close(start)
                    return f"{python}{inner})", quantifiable
            if p.startswith("(?>", start):
                raise self.error("atomic groups (?>...) are not supported")
            if p.startswith("(?<", start):
                raise self.error("named groups (?<name>...) are not supported; use (...) or (?:...)")
            raise self.error("inline flags and other (?...) constructs are not supported here; "
                             "only a leading (?i), (?s) or (?is) is")
        self.i = start + 1
        inner = self._alternation(depth + 1)
        self._close(start)
        return f"({inner})", True

    def _close(self, start: int) -> None:
        if self.i >= len(self.p) or self.p[self.i] != ")":
            raise self.error("unclosed group '('", start)
        self.i += 1

    def _escape_outside_class(self) -> tuple[str, bool]:
        kind, value = self._escape()
        if kind == "class":
            return "\\" + value, True
        if kind == "anchor":
            return value, False
        return _literal(value), True

    def _escape(self) -> tuple[str, str]:
        """Read one escape at self.i ('\\'); returns ('char', c), ('class', letter) or ('anchor', regex)."""
        p, start = self.p, self.i
        if start + 1 >= len(p):
            raise self.error("the pattern ends with a lone backslash", start)
        c = p[start + 1]
        self.i = start + 2
        if c in _SIMPLE_ESCAPES:
            return "char", _SIMPLE_ESCAPES[c]
        if c in _CLASS_ESCAPES:
            return "class", c
        if c == "A":
            return "anchor", "\\A"
        if c == "z":
            return "anchor", "\\Z"
        if c == "Z":
            return "anchor", _DOLLAR
        if c in _REJECTED_ESCAPES:
            raise self.error(_REJECTED_ESCAPES[c], start)
        if c == "x":
            m = re.compile(r"\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{2})").match(p, self.i)
            if not m:
                raise self.error("\\x needs two hex digits or \\x{hex}", start)
            self.i = m.end()
            return "char", _code_point(int(m.group(1) or m.group(2), 16), self, start)
        if c == "u":
            m = re.compile(r"[0-9a-fA-F]{4}").match(p, self.i)
            if not m:
                raise self.error("\\u needs four hex digits", start)
            self.i = m.end()
            return "char", _code_point(int(m.group(), 16), self, start)
        if c == "0":
            m = re.compile(r"[0-3][0-7]{2}|[0-7]{1,2}").match(p, self.i)
            if not m:
                raise self.error("\\0 needs octal digits (\\0n, \\0nn or \\0mnn)", start)
            self.i = m.end()
            return "char", chr(int(m.group(), 8))
        if c.isdigit():
            raise self.error("back-references (\\1 ...) are not supported", start)
        if c == "c":
            if self.i >= len(p):
                raise self.error("\\c needs a control letter", start)
            ctl = p[self.i]
            self.i += 1
            return "char", chr(ord(ctl) ^ 64)
        if c.isascii() and c.isalpha():
            raise self.error(f"unknown escape \\{c}", start)
        if not c.isascii():
            raise self.error("a backslash before a non-ASCII character is not supported; drop the backslash", start)
        return "char", c  # backslash before ASCII punctuation or space: that character itself

    def _class(self) -> str:
        p, start = self.p, self.i
        self.i += 1
        negate = False
        if self.i < len(p) and p[self.i] == "^":
            negate = True
            self.i += 1
        items: list[str] = []
        first = True
        while True:
            if self.i >= len(p):
                raise self.error("unclosed character class '['", start)
            ch = p[self.i]
            if ch == "]":
                if first:
                    raise self.error("an empty class or a ']' first in a class is not supported; write \\]")
                self.i += 1
                break
            if ch == "[":
                raise self.error("nested classes [..[..]..] are not supported; write \\[ for a literal bracket")
            if p.startswith("&&", self.i):
                raise self.error("class intersection && is not supported")
            item_start = self.i
            kind, value = self._class_member()
            if kind == "class":
                items.append("\\" + value)
                if self._at_range_dash():
                    raise self.error("a range cannot start or end at a class like \\d", item_start)
            elif self._at_range_dash():
                self.i += 1  # the '-'
                end_kind, end_value = self._class_member()
                if end_kind != "char":
                    raise self.error("a range cannot start or end at a class like \\d", item_start)
                if ord(end_value) < ord(value):
                    raise self.error(f"range {value!r}-{end_value!r} is out of order", item_start)
                items.append(_class_literal(value) + "-" + _class_literal(end_value))
            else:
                if value == "-" and not (item_start == start + 1 + negate or p[self.i : self.i + 1] == "]"):
                    raise self.error("write a literal '-' inside a class first, last or as \\-", item_start)
                items.append(_class_literal(value))
            first = False
        return "[" + ("^" if negate else "") + "".join(items) + "]"

    def _at_range_dash(self) -> bool:
        p, i = self.p, self.i
        return i + 1 < len(p) and p[i] == "-" and p[i + 1] != "]"

    def _class_member(self) -> tuple[str, str]:
        p = self.p
        ch = p[self.i]
        if ch == "\\":
            kind, value = self._escape()
            if kind == "anchor":
                raise self.error("anchors cannot appear inside a class", self.i - 2)
            return kind, value
        if ch == "[":
            raise self.error("nested classes [..[..]..] are not supported; write \\[ for a literal bracket")
        self.i += 1
        return "char", ch


def _code_point(cp: int, parser: _Parser, at: int) -> str:
    if 0xD800 <= cp <= 0xDFFF:
        raise parser.error("escapes of UTF-16 surrogates are not supported; write the character or \\x{...}", at)
    if cp > 0x10FFFF:
        raise parser.error("code point out of range", at)
    return chr(cp)


def _literal(ch: str) -> str:
    if ch.isascii() and (ch.isalnum() or ch == "_"):
        return ch
    if ch.isascii() and ch.isprintable():
        return "\\" + ch
    if ch.isprintable() and ch not in _LINE_TERMINATORS:
        return ch
    return _code_escape(ch)


def _class_literal(ch: str) -> str:
    return _literal(ch)


def _code_escape(ch: str) -> str:
    cp = ord(ch)
    return "\\x%02x" % cp if cp < 0x100 else ("\\u%04x" % cp if cp < 0x10000 else "\\U%08x" % cp)
