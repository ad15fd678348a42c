"""Java regular expressions (what Flink's REGEXP runs) reproduced with Python `re`, or rejected.

Flink evaluates `matches` as REGEXP(x, pattern): java.util.regex `find()` on a Java String, true when
any substring matches. Only *whether* a match exists matters, so greedy/lazy differences are irrelevant;
what must be identical is the set of strings each construct accepts. This module accepts the subset of
Java syntax whose meaning it reproduces exactly and rejects the rest with a message naming the construct.

Java matches over UTF-16 code units, and so does the Python pattern made here: `TranslatedRegex.search`
runs it on the text with every character above U+FFFF written as its surrogate pair. Each Java construct
becomes the units it accepts (JDK 17's java.util.regex.Pattern, read and checked against the JDK):

- a character class, `.`, `\\d` ... and a literal character read one code point where the text is: a
  high surrogate followed by a low one is one character (both units), any other unit is a character of
  its own, a lone surrogate included;
- `find()` tries every unit position, including the one between the two halves of a pair, unless the
  pattern "has supplementary characters" in Java's sense, then it skips those positions: a character
  above U+FFFF written literally anywhere in the pattern, a negated class `[^...]`, a class holding such
  a character or a range into the surrogates or above, any range under (?i), `\\D \\W \\S`, or such a
  character standing alone (`\\x{1F600}` outside a longer run of literals, or quantified). `.` does not
  count: `(?<!^).` finds the lone low surrogate of '😀';
- a lookbehind is measured in UTF-16 units, unlike the characters inside it; a lookbehind that can match
  a surrogate or a character above U+FFFF (`.`, `[^...]`, `\\D \\W \\S`, such a character or a range
  reaching it) is rejected: `(?<=^.)x` does not find the 'x' of '😀x' in Java. Lookbehinds over
  characters up to U+FFFF (other than surrogates) mean the same in units and code points.

Other details reproduced: `.` excludes \\n \\r \\u0085 \\u2028 \\u2029 unless (?s); `$` and `\\Z` match at
the end or before one final line terminator (incl. \\r\\n); `\\d \\w \\s` are ASCII; (?i) folds ASCII
letters only. Rejected: \\b \\B (Java 17 decides word characters with Unicode letters while \\w is
ASCII), \\p{..}, \\Q..\\E, back-references, named groups, atomic groups, possessive quantifiers, inline
flags other than a leading (?i)/(?s), nested classes and class intersection (&&), \\h \\v \\R \\X \\G,
surrogates (escaped or literal), variable-width lookbehinds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Union

MAX_CODE_POINT = 0x10FFFF
_LINE_TERMINATORS = (0x0A, 0x0D, 0x85, 0x2028, 0x2029)
# Java's `$` without MULTILINE: at the end, before a final \r\n, or before one final terminator
# (but never between \r and \n).
_DOLLAR = "(?:(?=\\r\\n\\Z)|(?<!\\r)(?=\\n\\Z)|(?=[\\r\\x85\\u2028\\u2029]\\Z)|\\Z)"
# StartS: find() does not start between the two halves of a surrogate pair.
_NOT_INSIDE_A_PAIR = "(?:(?<![\\ud800-\\udbff])|(?![\\udc00-\\udfff]))"
_LOW_FOLLOWS = "(?![\\udc00-\\udfff])"
_NEVER = "[^\\x00-\\U0010ffff]"  # one unit wide, matches nothing

_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "a": "\a", "e": "\x1b"}
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
_LOOKBEHIND_WIDE = (
    "a lookbehind cannot contain ., [^...], \\D, \\W, \\S or a character above U+FFFF: Java measures "
    "lookbehinds in UTF-16 units, so next to emoji and other characters above U+FFFF it does not match "
    "what it says ((?<=^.)x does not find the x of '😀x'); list the characters instead, e.g. (?<=[a-z0-9 ])"
)

Ranges = tuple[tuple[int, int], ...]


class JavaRegexError(ValueError):
    """`offset` is the 0-based position in the pattern of the offending construct."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


# ---- code point sets -------------------------------------------------------------------------------


def _normalize(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(ranges: Ranges) -> Ranges:
    out, at = [], 0
    for lo, hi in ranges:
        if lo > at:
            out.append((at, lo - 1))
        at = hi + 1
    if at <= MAX_CODE_POINT:
        out.append((at, MAX_CODE_POINT))
    return tuple(out)


def _intersect(ranges: Ranges, lo: int, hi: int) -> Ranges:
    return tuple((max(a, lo), min(b, hi)) for a, b in ranges if a <= hi and b >= lo)


def _ascii_fold(ranges: Ranges) -> Ranges:
    """Java's (?i) without UNICODE_CASE: an ASCII letter also matches its other case."""
    extra = []
    for c in range(ord("A"), ord("z") + 1):
        other = c + 32 if 0x41 <= c <= 0x5A else c - 32 if 0x61 <= c <= 0x7A else None
        if other is not None and any(lo <= other <= hi for lo, hi in ranges):
            extra.append((c, c))
    return _normalize(list(ranges) + extra)


_DIGIT: Ranges = ((0x30, 0x39),)
_WORD: Ranges = _normalize([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
_SPACE: Ranges = _normalize([(0x09, 0x0D), (0x20, 0x20)])
_CLASS_ESCAPES: dict[str, Ranges] = {
    "d": _DIGIT, "D": _complement(_DIGIT), "w": _WORD, "W": _complement(_WORD), "s": _SPACE, "S": _complement(_SPACE),
}
_DOT: Ranges = _complement(_normalize([(c, c) for c in _LINE_TERMINATORS]))
_ALL: Ranges = ((0, MAX_CODE_POINT),)


def _is_bmp_only(ranges: Ranges) -> bool:
    """No surrogate and nothing above U+FFFF: units and code points are the same thing for it."""
    return not _intersect(ranges, 0xD800, 0xDFFF) and not _intersect(ranges, 0x10000, MAX_CODE_POINT)


def _unit(cp: int) -> str:
    return "\\x%02x" % cp if cp < 0x100 else "\\u%04x" % cp


def _class(ranges: Ranges) -> str:
    return "[" + "".join(_unit(lo) if lo == hi else f"{_unit(lo)}-{_unit(hi)}" for lo, hi in ranges) + "]"


def _pairs(ranges: Ranges) -> list[str]:
    """Surrogate-pair patterns for code points above U+FFFF."""
    out = []
    for lo, hi in ranges:
        hl, ll = 0xD800 + ((lo - 0x10000) >> 10), 0xDC00 + ((lo - 0x10000) & 0x3FF)
        hh, lh = 0xD800 + ((hi - 0x10000) >> 10), 0xDC00 + ((hi - 0x10000) & 0x3FF)
        if hl == hh:
            out.append(_unit(hl) + _class(((ll, lh),)))
            continue
        out.append(_unit(hl) + _class(((ll, 0xDFFF),)))
        if hl + 1 <= hh - 1:
            out.append(_class(((hl + 1, hh - 1),)) + "[\\udc00-\\udfff]")
        out.append(_unit(hh) + _class(((0xDC00, lh),)))
    return out


def _one_character(ranges: Ranges) -> str:
    """Units Java reads as one character (Character.codePointAt) whose code point is in `ranges`.

    The alternatives start with different kinds of unit, so there is exactly one way to match.
    """
    alternatives = []
    single = _normalize(list(_intersect(ranges, 0, 0xD7FF)) + list(_intersect(ranges, 0xDC00, 0xFFFF)))
    if single:
        alternatives.append(_class(single))
    alternatives += _pairs(_intersect(ranges, 0x10000, MAX_CODE_POINT))
    high = _intersect(ranges, 0xD800, 0xDBFF)
    if high:
        alternatives.append(_class(high) + _LOW_FOLLOWS)  # a high surrogate alone is a character
    if not alternatives:
        return _NEVER
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def utf16_units(text: str) -> str:
    """`text` as Java holds it: each character above U+FFFF written as its two surrogates."""
    if all(ch < "\U00010000" for ch in text):
        return text
    return "".join(ch if ch < "\U00010000" else _surrogates(ch) for ch in text)


@functools.lru_cache(maxsize=1024)
def _surrogates(ch: str) -> str:
    v = ord(ch) - 0x10000
    return chr(0xD800 + (v >> 10)) + chr(0xDC00 + (v & 0x3FF))


# ---- syntax tree -----------------------------------------------------------------------------------


@dataclass
class _Char:
    """One character from a set: a class, `.`, `\\d`..., or a literal (`literal` is its code point)."""

    ranges: Ranges
    at: int
    literal: int | None = None
    #: Java builds it with newCharProperty on a predicate that is not a BmpCharPredicate
    non_bmp_predicate: bool = False


@dataclass
class _Zero:
    python: str


@dataclass
class _Group:
    opener: str  # (  (?:  (?=  (?!  (?<=  (?<!
    branches: list[list["_Node"]]
    at: int


@dataclass
class _Repeat:
    item: "_Node"
    quantifier: str


_Node = Union[_Char, _Zero, _Group, _Repeat]


@dataclass(frozen=True)
class TranslatedRegex:
    #: a Python pattern over UTF-16 code units (see `search`)
    python_pattern: str
    ignore_case: bool
    #: Java's find() skips positions inside a surrogate pair (the pattern "has supplementary characters")
    skips_inside_pairs: bool = False
    _compiled: list = field(default_factory=list, repr=False, compare=False)

    def compile(self) -> re.Pattern[str]:
        """The pattern over UTF-16 code units; use `search` for text with characters above U+FFFF."""
        if not self._compiled:
            self._compiled.append(re.compile(self.python_pattern))
        return self._compiled[0]

    def search(self, text: str) -> bool:
        """Java's Pattern.compile(p).matcher(text).find()."""
        return self.compile().search(utf16_units(text)) is not None


def translate(pattern: str) -> TranslatedRegex:
    """Translate a Java pattern; raise JavaRegexError for anything whose meaning would differ."""
    if pattern == "":
        # Flink's REGEXP returns FALSE for an empty pattern, unlike Java's find(); avoid the question.
        raise JavaRegexError("the pattern is empty; write a pattern that matches something, e.g. '.*'", 0)
    for i, ch in enumerate(pattern):
        if "\ud800" <= ch <= "\udfff":
            raise JavaRegexError("the pattern contains a lone UTF-16 surrogate; write whole characters", i)
    parser = _Parser(pattern)
    branches = parser.parse()
    skips = any(ord(ch) > 0xFFFF for ch in pattern) or _marks_supplementary(branches)
    body = _emit_branches(branches, in_lookbehind=False)
    python = (_NOT_INSIDE_A_PAIR + "(?:" + body + ")") if skips else body
    result = TranslatedRegex(python, parser.ignore_case, skips)
    try:
        result.compile()
    except re.error as exc:
        message = str(exc).split(" at position")[0]
        if "look-behind" in message:
            message = "a lookbehind must match a fixed number of characters"
        raise JavaRegexError(message, _java_offset(parser, exc)) from None
    return result


def _java_offset(parser: "_Parser", exc: re.error) -> int:
    # Python's position is in the translated pattern; point at the first lookbehind instead when that
    # is what failed, else at the start.
    if "look-behind" in str(exc) and parser.lookbehinds:
        return parser.lookbehinds[0]
    return 0


# ---- what Java's compile() decides -----------------------------------------------------------------


def _marks_supplementary(branches: list[list[_Node]]) -> bool:
    """Whether JDK 17's Pattern sets hasSupplementary while parsing (find() then uses StartS)."""
    for seq in branches:
        run: list[_Char] = []
        for node in seq + [_Zero("")]:  # a sentinel ends the last run
            if isinstance(node, _Char) and node.literal is not None:
                run.append(node)
                continue
            # a run of one literal is a Single (newCharProperty); longer runs are Slices (no mark)
            if len(run) == 1 and run[0].literal > 0xFFFF:  # type: ignore[operator]
                return True
            run = []
            if isinstance(node, _Char) and node.non_bmp_predicate:
                return True
            if isinstance(node, _Repeat):
                item = node.item
                if isinstance(item, _Char) and (item.non_bmp_predicate or (item.literal or 0) > 0xFFFF):
                    return True
                if isinstance(item, _Group) and _marks_supplementary(item.branches):
                    return True
            if isinstance(node, _Group) and _marks_supplementary(node.branches):
                return True
    return False


def _emit_branches(branches: list[list[_Node]], in_lookbehind: bool) -> str:
    return "|".join("".join(_emit(n, in_lookbehind) for n in seq) for seq in branches)


def _emit(node: _Node, in_lookbehind: bool) -> str:
    if isinstance(node, _Zero):
        return node.python
    if isinstance(node, _Char):
        if in_lookbehind and not _is_bmp_only(node.ranges):
            raise JavaRegexError(_LOOKBEHIND_WIDE, node.at)
        return _one_character(node.ranges)
    if isinstance(node, _Repeat):
        return "(?:" + _emit(node.item, in_lookbehind) + ")" + node.quantifier
    inner_lookbehind = in_lookbehind or node.opener in ("(?<=", "(?<!")
    opener = "(?:" if node.opener == "(" else node.opener
    return opener + _emit_branches(node.branches, inner_lookbehind) + ")"


# ---- parser ----------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0
        self.dotall = False
        self.ignore_case = False
        self.lookbehinds: list[int] = []

    def error(self, message: str, at: int | None = None) -> JavaRegexError:
        return JavaRegexError(message, self.i if at is None else at)

    def parse(self) -> list[list[_Node]]:
        self._leading_flags()
        out = self._alternation(depth=0)
        if self.i < len(self.p):  # only a stray ')' stops the top level early
            raise self.error("unmatched ')'")
        return out

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

    def _alternation(self, depth: int) -> list[list[_Node]]:
        branches = [self._sequence(depth)]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            branches.append(self._sequence(depth))
        return branches

    def _sequence(self, depth: int) -> list[_Node]:
        parts: list[_Node] = []
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
                atom = _Repeat(atom, quant)
            parts.append(atom)
        return parts

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

    def _literal(self, cp: int, at: int) -> _Char:
        ranges = _normalize([(cp, cp)])
        return _Char(_ascii_fold(ranges) if self.ignore_case else ranges, at, literal=cp)

    def _atom(self, depth: int) -> tuple[_Node, bool]:
        p = self.p
        ch = p[self.i]
        start = self.i
        if ch == "(":
            return self._group(depth)
        if ch == "[":
            return self._class(), True
        if ch == ".":
            self.i += 1
            return _Char(_ALL if self.dotall else _DOT, start), True
        if ch == "^":
            self.i += 1
            return _Zero("^"), False  # without MULTILINE both mean the start of the input
        if ch == "$":
            self.i += 1
            return _Zero(_DOLLAR), False
        if ch == "\\":
            return self._escape_outside_class()
        if ch in "*+?":
            raise self.error(f"'{ch}' has nothing to repeat; write \\{ch} for the character")
        if ch == "{":
            raise self.error("'{' has nothing to repeat; write \\{ for a literal brace")
        self.i += 1
        return self._literal(ord(ch), start), True

    def _group(self, depth: int) -> tuple[_Node, bool]:
        p, start = self.p, self.i
        if p.startswith("(?", start):
            for opener, quantifiable in (("(?:", True), ("(?=", False), ("(?!", False), ("(?<=", False), ("(?<!", False)):
                if p.startswith(opener, start):
                    if opener in ("(?<=", "(?<!"):
                        self.lookbehinds.append(start)
                    self.i = start + len(opener)
                    inner = self._alternation(depth + 1)
                    self._close(start)
                    return _Group(opener, inner, start), quantifiable
            if p.startswith("(?>", start):
                raise self.error("atomic groups (?>...) are not supported")
            if p.startswith("(?<", start):
                raise self.error("named groups (?<name>...) are not supported; use (...) or (?:...)")
            raise self.error("inline flags and other (?...) constructs are not supported here; "
                             "only a leading (?i), (?s) or (?is) is")
        self.i = start + 1
        inner = self._alternation(depth + 1)
        self._close(start)
        return _Group("(", inner, start), True

    def _close(self, start: int) -> None:
        if self.i >= len(self.p) or self.p[self.i] != ")":
            raise self.error("unclosed group '('", start)
        self.i += 1

    def _escape_outside_class(self) -> tuple[_Node, bool]:
        start = self.i
        kind, value = self._escape()
        if kind == "class":
            return _Char(_CLASS_ESCAPES[value], start, non_bmp_predicate=value.isupper()), True
        if kind == "anchor":
            return _Zero(value), False
        return self._literal(ord(value), start), True

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

    def _class(self) -> _Char:
        p, start = self.p, self.i
        self.i += 1
        negate = False
        if self.i < len(p) and p[self.i] == "^":
            negate = True
            self.i += 1
        ranges: list[tuple[int, int]] = []
        bmp = not negate  # Java: a negated class is never a BmpCharPredicate
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
            escaped = ch == "\\"
            kind, value = self._class_member()
            if kind == "class":
                ranges += _CLASS_ESCAPES[value]
                bmp = bmp and not value.isupper()
                if self._at_range_dash():
                    raise self.error("a range cannot start or end at a class like \\d", item_start)
            elif self._at_range_dash():
                self.i += 1  # the '-'
                end_kind, end_value = self._class_member()
                if end_kind != "char":
                    raise self.error("a range cannot start or end at a class like \\d", item_start)
                lo, hi = ord(value), ord(end_value)
                if hi < lo:
                    raise self.error(f"range {value!r}-{end_value!r} is out of order", item_start)
                ranges.append((lo, hi))
                # Java: Range() is a BmpCharPredicate only below the surrogates or between them and
                # U+FFFF; under (?i) every range is a CIRange, never one.
                bmp = bmp and not self.ignore_case and (hi < 0xD800 or (lo > 0xDFFF and hi <= 0xFFFF))
            else:
                if value == "-" and not escaped and not (item_start == start + 1 + negate or p[self.i : self.i + 1] == "]"):
                    raise self.error("write a literal '-' inside a class first, last or as \\-", item_start)
                ranges.append((ord(value), ord(value)))
                bmp = bmp and ord(value) <= 0xFFFF
            first = False
        folded = _normalize(ranges)
        if self.ignore_case:
            folded = _ascii_fold(folded)
        return _Char(_complement(folded) if negate else folded, start, non_bmp_predicate=not bmp)

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
