"""One summary of a Java stack trace (Flink, Kafka Connect): the root cause as one readable line."""

from __future__ import annotations

import re

_PACKAGE = re.compile(r"^(?:[a-z][\w$]*\.)+(?=[A-Z][\w$]*(?::|$))")


def summarize_trace(text: str | None, *, keep_class: bool = True, limit: int = 600) -> str | None:
    """The deepest 'Caused by:' line, else the first line; package prefixes dropped.

    `keep_class=False` also drops the exception's class name (`FooException: msg` -> `msg`), for messages
    where the class adds nothing for the user (SQL validation errors).
    """
    if not text or not str(text).strip():
        return None
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    causes = [ln.removeprefix("Caused by:").strip() for ln in lines if ln.startswith("Caused by:")]
    best = causes[-1] if causes else lines[0]
    best = _PACKAGE.sub("", best)
    if not keep_class:
        best = re.sub(r"^[A-Z][\w$]*(?:Exception|Error): ", "", best)
    return " ".join(best.split())[:limit]
