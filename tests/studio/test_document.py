"""Specification of bot.studio.document: parse errors with positions, and values YAML reads back exactly."""

from __future__ import annotations

import pytest

from bot.studio import document
from bot.studio.errors import DuplicateKey, MalformedYaml


class TestErrors:
    """Parse errors carry a 1-based line and column."""

    @pytest.mark.parametrize(("text", "line", "column"), [
        ("a: [1,\nb: 2\n", 3, 1),
        ("nlu:\n\t- x\n", 2, 1),
        ("text: \x07\n", 1, 7),
        ("ok: 1\nzh: 你好\x01\n", 2, 7),
    ])
    def test_position(self, text: str, line: int, column: int) -> None:
        with pytest.raises(MalformedYaml) as caught:
            document.load(text)
        assert (caught.value.line, caught.value.column) == (line, column)
        assert caught.value.detail

    def test_compose_reports_syntax_errors_too(self) -> None:
        with pytest.raises(MalformedYaml):
            document.compose("a: 'open\n")

    def test_duplicate_key_names_the_key(self) -> None:
        with pytest.raises(DuplicateKey) as caught:
            document.load("a: 1\nb: 2\na: 3\n")
        assert (caught.value.key, caught.value.line, caught.value.facts["key"]) == ("a", 3, "a")

    def test_located_names_the_file(self) -> None:
        error = MalformedYaml(3, 1, "bad").located("data/nlu/zh/orders.yml")
        assert (error.path, error.line, str(error)) == ("data/nlu/zh/orders.yml", 3,
                                                        "data/nlu/zh/orders.yml:3:1: invalid YAML: bad")


class TestQuoted:
    """A double-quoted scalar reads back as exactly the text, whatever it holds."""

    @pytest.mark.parametrize("text", [
        "您好，我是小智 😊",
        "Hello {name}! I'm your shopping assistant.",
        '他说"好"，然后走了',
        'She said "fine" \\ then left',
        "订单 {order_id} 物流轨迹：\n{timeline}",
        "tab\there, CR\rhere, NUL\0here",
        "line\u2028separator\u2029and\x85next line",
        "\ufeffBOM, \x7fDEL, \x1bESC, \ufffeNONCHAR",
        "/return_item{{\"order_id\":\"{order_id}\"}}",
        "# not a comment: [not] {a: flow} & *no alias",
        "",
    ])
    def test_round_trip(self, text: str) -> None:
        rendered = document.quoted(text)
        assert "\n" not in rendered
        assert document.load(f"text: {rendered}\n")["text"] == text


class TestPlain:
    """Round-trip data becomes plain Python data."""

    def test_plain(self) -> None:
        data = document.load("a: [1, 2.5, true, null, 'x']\nb:\n  c: |\n    d\n")
        plain = document.plain(data)
        assert plain == {"a": [1, 2.5, True, None, "x"], "b": {"c": "d\n"}}
        assert type(plain) is dict and type(plain["a"]) is list and type(plain["a"][4]) is str
