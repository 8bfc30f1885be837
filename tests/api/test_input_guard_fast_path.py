"""The input guard skips its value-by-value walk when the JSON text alone proves the walk would find nothing:
on random bodies (nesting around the depth limit, NUL, lone and paired surrogates as escapes and as raw text,
escaped backslashes, numbers at the limits) the verdict is always the walk's."""

from __future__ import annotations

import json
import random

import pytest

from mso_flow.api.input_guard import MAX_JSON_DEPTH, InputRefused, _plain, check_json, parse_json

PIECES = [
    '"a"',
    '"ก"',
    '"\\u0e01"',
    '"\\u0000"',
    '"\\ud800"',
    '"\\uDFFF"',
    '"\\ud83d\\ude00"',
    '"\\\\u0000"',
    '"\\\\\\u0000"',
    '"\ud800"',
    "1",
    "1.5",
    "true",
    "null",
]


def _value(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(PIECES)
    if rng.random() < 0.5:
        return "[" + ",".join(_value(rng, depth - 1) for _ in range(rng.randint(0, 2))) + "]"
    items = [f"{rng.choice(PIECES[:9])}: {_value(rng, depth - 1)}" for _ in range(rng.randint(0, 2))]
    return "{" + ",".join(items) + "}"


def _verdict(body: bytes, fast: bool) -> str | None:
    text = body.decode("utf-8", "surrogatepass")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "malformed"
    try:
        check_json(value, 256 * 1024, text if fast else None)
    except InputRefused as refused:
        return refused.code
    return None


@pytest.mark.parametrize("seed", range(8))
def test_the_fast_path_agrees_with_the_walk(seed: int) -> None:
    rng = random.Random(seed)
    plain = refused = 0
    for _ in range(400):
        depth = rng.choice([2, 4, MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 2])
        body = ('{"variables": ' + _value(rng, depth) + "}").encode("utf-8", "surrogatepass")
        assert _verdict(body, fast=True) == _verdict(body, fast=False), body
        plain += _plain(body.decode("utf-8", "surrogatepass"))
        refused += _verdict(body, fast=False) not in (None, "malformed")
    assert plain and refused  # both paths were exercised


def test_deep_nesting_just_past_the_limit_is_refused_whichever_path() -> None:
    for containers, scalar, refused in ((MAX_JSON_DEPTH - 1, "1", False), (MAX_JSON_DEPTH, "1", True)):
        body = ("[" * containers + scalar + "]" * containers).encode()
        if refused:
            with pytest.raises(InputRefused):
                parse_json(body, 1024)
        else:
            parse_json(body, 1024)
