"""The JSON path subset a filter may use on event_data: $ followed by .key, ['key'] and [index] steps.

Anything that could select several values (wildcards, recursive descent, filters, slices, unions) or
call a function is rejected: JSON_VALUE needs exactly one scalar. Paths are re-rendered in one canonical
spelling so the generated SQL is stable whatever way the user wrote them.
"""

from __future__ import annotations

import re

Segment = str | int

_DOT_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class JsonPathError(ValueError):
    """`offset` is the 0-based character position in the path where the problem is."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


def is_json_path(field: str) -> bool:
    return field.startswith("$")


def parse_json_path(path: str) -> tuple[Segment, ...]:
    """Split a path into keys (str) and array indexes (int); raise JsonPathError when it is not allowed."""
    if not path.startswith("$"):
        raise JsonPathError("a JSON path starts with '$.' or '$['", 0)
    segments: list[Segment] = []
    i = 1
    n = len(path)
    while i < n:
        ch = path[i]
        if path.startswith("..", i):
            raise JsonPathError("recursive descent '..' is not allowed (it can select several values)", i)
        if ch == ".":
            m = _DOT_KEY.match(path, i + 1)
            if not m:
                nxt = path[i + 1 : i + 2]
                if nxt == "*":
                    raise JsonPathError("wildcard '*' is not allowed (it can select several values)", i + 1)
                raise JsonPathError(
                    "expected a key after '.' (letters, digits, '_' or '-'); write other keys as ['key']", i + 1
                )
            end = m.end()
            if path[end : end + 1] == "(":
                raise JsonPathError("functions such as length() are not allowed", i + 1)
            segments.append(m.group())
            i = end
        elif ch == "[":
            i = _parse_bracket(path, i, segments)
        else:
            raise JsonPathError(f"unexpected character {ch!r}; a step is .key, ['key'] or [index]", i)
    if not segments:
        raise JsonPathError("the path must name a value inside event_data, e.g. $.eventType", len(path))
    return tuple(segments)


def _parse_bracket(path: str, start: int, segments: list[Segment]) -> int:
    i = start + 1
    if path.startswith("'", i):
        key: list[str] = []
        i += 1
        while True:
            if i >= len(path):
                raise JsonPathError("unterminated ['key']", start)
            ch = path[i]
            if ch == "\\":
                nxt = path[i + 1 : i + 2]
                if nxt not in ("'", "\\"):
                    raise JsonPathError("inside ['key'] only \\' and \\\\ are escapes", i)
                key.append(nxt)
                i += 2
            elif ch == "'":
                i += 1
                break
            else:
                key.append(ch)
                i += 1
        if not path.startswith("]", i):
            raise JsonPathError("expected ']' after the quoted key (one key per bracket)", i)
        segments.append("".join(key))
        return i + 1
    m = re.compile(r"0|[1-9][0-9]*").match(path, i)
    if m and path.startswith("]", m.end()):
        segments.append(int(m.group()))
        return m.end() + 1
    body = path[i : path.find("]", i)] if "]" in path[i:] else path[i:]
    if body.startswith("*"):
        raise JsonPathError("wildcard [*] is not allowed (it can select several values)", i)
    if body.startswith("?"):
        raise JsonPathError("filter expressions [?(...)] are not allowed", i)
    if body.startswith("-"):
        raise JsonPathError("negative array indexes are not allowed; use an index counted from 0", i)
    if ":" in body or "," in body:
        raise JsonPathError("slices and unions are not allowed (they can select several values)", i)
    if body.startswith('"'):
        raise JsonPathError("quote keys with single quotes: ['key']", i)
    raise JsonPathError("expected ['key'] or [index] (a whole number from 0, no spaces)", i)


def render_json_path(segments: tuple[Segment, ...]) -> str:
    """The canonical spelling, accepted by Flink's JSON_VALUE (checked on Flink 2.2)."""
    out = ["$"]
    for seg in segments:
        if isinstance(seg, int):
            out.append(f"[{seg}]")
        elif _PLAIN_KEY.fullmatch(seg):
            out.append("." + seg)
        else:
            out.append("['" + seg.replace("\\", "\\\\").replace("'", "\\'") + "']")
    return "".join(out)
