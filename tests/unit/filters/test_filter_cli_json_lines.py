"""`python -m filters test` reads JSON lines split at \\n only, as JSON lines are defined."""

import io
import json

import pytest

from filters import cli
from pipeline.errors import ConfigError

FILTERS = """\
version: 1
source: {topic: raw}
filters:
  - id: sep
    outputTopic: t-sep
    conditions:
      - {field: $.s, operator: matches, value: 'a.b'}
  - id: any
    outputTopic: t-any
"""


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_raw_unicode_line_separators_inside_strings_are_valid_json(tmp_path, separator):
    # json.dumps(ensure_ascii=False) writes these raw; str.splitlines() cut the line at each of them
    event = {"id": "e1", "event_name": f"x{separator}y", "event_data": json.dumps({"s": f"a{separator}b"}, ensure_ascii=False)}
    path = tmp_path / "events.jsonl"
    path.write_bytes((json.dumps(event, ensure_ascii=False) + "\n").encode())
    assert cli.read_json_lines(path) == [event]


@pytest.mark.parametrize("control", ["\x0b", "\x0c", "\x1c", "\r"])
def test_other_raw_line_breaks_do_not_split_the_line_either(tmp_path, control):
    # not JSON raw inside a string: one error naming the character, not an 'unterminated string' of a cut line
    path = tmp_path / "events.jsonl"
    path.write_bytes(('{"id": "a' + control + 'b"}\n').encode())
    with pytest.raises(ConfigError, match=r"events.jsonl:1:\d+: not valid JSON: Invalid control character"):
        cli.read_json_lines(path)


def test_test_command_routes_events_holding_line_separators(tmp_path):
    filters = tmp_path / "f.yaml"
    filters.write_text(FILTERS, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    lines = [json.dumps({"id": "e1", "event_data": json.dumps({"s": "a\u2028b"}, ensure_ascii=False)}, ensure_ascii=False),
             "",
             json.dumps({"id": "e2", "event_data": json.dumps({"s": "a\u00e9b"}, ensure_ascii=False)}, ensure_ascii=False)]
    events.write_bytes(("\r\n".join(lines) + "\n").encode())  # CRLF line ends are fine too
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["test", "--file", str(filters), "--events", str(events)], stdout=out, stderr=err) == 0, err.getvalue()
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"id": "e1", "topics": ["t-any"]},  # '.' does not match U+2028 in Java
        {"id": "e2", "topics": ["t-any", "t-sep"]},
    ]


def test_a_line_of_only_a_unicode_separator_is_an_error_not_a_blank_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes('{"id": "e1"}\n\u2028\n'.encode())
    with pytest.raises(ConfigError, match="events.jsonl:2:1: not valid JSON"):
        cli.read_json_lines(path)


def test_events_that_are_not_utf8_are_an_expected_failure(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"id": "\xff"}\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        cli.read_json_lines(path)
