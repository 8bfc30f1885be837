"""Property tests of the input limits and of the guarded operations of expressions."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mso_flow.api.input_guard import MAX_JSON_DEPTH, InputRefused, parse_json
from mso_flow.engine import budgets as limits

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63) + 1, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SAFE_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(SAFE_TEXT, children, max_size=4),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 1


@given(JSON)
def test_plain_json_within_the_depth_passes(value):
    parse_json(json.dumps({"variables": {"v": value}}).encode(), 10**9)


@given(JSON, st.integers(min_value=MAX_JSON_DEPTH, max_value=400))
def test_json_deeper_than_the_limit_is_refused(value, extra):
    for _ in range(extra):
        value = [value]
    with pytest.raises(InputRefused) as refused:
        parse_json(json.dumps(value).encode(), 10**9)
    assert refused.value.code == "json_too_deep"


@given(SAFE_TEXT, SAFE_TEXT, st.sampled_from(["\x00", "\ud800", "\udfff"]), st.booleans())
def test_nul_and_lone_surrogates_are_refused_in_keys_and_values(before, after, bad, in_key):
    text = before + bad + after
    body = {text: 1} if in_key else {"k": [text]}
    with pytest.raises(InputRefused) as refused:
        parse_json(json.dumps({"variables": body}).encode(), 10**9)
    assert refused.value.code == "invalid_text"


@given(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-2.5e999", str(2**63), str(-(10**400))]))
def test_non_finite_and_huge_numbers_are_refused(token):
    with pytest.raises(InputRefused) as refused:
        parse_json(f'{{"variables": {{"x": {token}}}}}'.encode(), 10**9)
    assert refused.value.code in ("non_finite_number", "number_out_of_range")


@given(st.integers(min_value=0, max_value=10_000))
def test_variables_over_the_size_limit_are_refused(size):
    body = json.dumps({"variables": {"x": "a" * size}}).encode()
    limit = 5_000
    if size + 9 > limit:
        with pytest.raises(InputRefused):
            parse_json(body, limit)
    else:
        parse_json(body, limit)


@settings(max_examples=300)
@given(
    st.sampled_from(["*", "**", "<<", "+", "%"]),
    st.one_of(st.integers(-(10**30), 10**30), st.text(max_size=5), st.lists(st.integers(), max_size=3)),
    st.one_of(st.integers(-(10**12), 10**12), st.text(max_size=5)),
)
def test_guarded_operations_never_build_more_than_the_budget(op, left, right):
    budget = limits.budget()
    try:
        result = limits.binop(op, left, right)
    except limits.LimitExceeded:
        return
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, MemoryError):
        return
    if isinstance(result, int):
        assert result.bit_length() <= budget.max_int_bits + 64
    elif isinstance(result, str | list):
        assert len(result) <= budget.max_items
    elif isinstance(result, float):
        assert math.isfinite(result) or math.isinf(result)


@given(JSON)
def test_plain_json_results_are_accepted(value):
    limits.check_result("v", value)
