"""node.http_limits in the test process: the depth scan agrees with the JSON parser, and the
recursion limit py_ecc raises is put back by create_app (the process tests are in
tests/node/adversarial)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.node.http_limits import (
    MAX_JSON_DEPTH,
    REQUEST_RECURSION_LIMIT,
    RPC_LIMITS,
    check_json_depth,
    json_depth,
)
from gridledger.node.rest.errors import JsonTooDeepError

json_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


def _parsed_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_parsed_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_parsed_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(["utf-8", "utf-16", "utf-32-le"]))
def test_the_scan_counts_what_the_parser_nests(value: object, encoding: str) -> None:
    body = json.dumps(value, ensure_ascii=False).encode(encoding)
    assert json_depth(body) == _parsed_depth(json.loads(body))


def test_brackets_in_strings_and_escapes_do_not_count() -> None:
    assert json_depth(b'["[[[", "\\"[[", {"{": "]]]"}]') == 2
    # An unterminated string runs to the end, as the parser reads it before failing.
    assert json_depth(b'[[["abc[[[[') == 3
    assert json_depth(b'[["\\"[[[') == 2
    assert json_depth(b'["a[\\') == 1
    assert json_depth(b"[" * 70 + b'"' + b'\\"' * 100_000) == 70
    assert json_depth(b"[" * 80_000 + b"]" * 80_000) == 80_000
    assert json_depth(b"[" * 80_000, stop_above=64) == 64 * 1024  # the first chunk of brackets
    assert json_depth(b"[]" * 40_000 + b"[[", stop_above=1) == 2
    check_json_depth(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, RPC_LIMITS)
    refusal = f"nests at least 65 levels deep; at most {MAX_JSON_DEPTH} are allowed"
    with pytest.raises(JsonTooDeepError, match=refusal):
        check_json_depth(b"[" * 65 + b"]" * 65, RPC_LIMITS)


def test_create_app_restores_a_recursion_limit_the_c_stack_holds() -> None:
    # A child process: the C JSON parser at py_ecc's limit would crash this one.
    code = (
        "import json, sys, threading\n"
        "from gridledger.node.app import create_app\n"
        "from gridledger.node.service import NodeService\n"
        "assert sys.getrecursionlimit() == 100_000, sys.getrecursionlimit()\n"
        "create_app(NodeService(w3=None, accounts={}, handle_rpc=lambda b: None))\n"
        "print(sys.getrecursionlimit())\n"
        "def parse():\n"
        "    try:\n"
        "        json.loads('[' * 80_000 + ']' * 80_000)\n"
        "    except RecursionError:\n"
        "        print('RecursionError')\n"
        "t = threading.Thread(target=parse); t.start(); t.join()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert done.stdout.decode().split() == [str(REQUEST_RECURSION_LIMIT), "RecursionError"]
