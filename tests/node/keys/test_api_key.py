"""A new API key is URL-safe and never starts with '-': `--api-key KEY` on a command line
would otherwise read such a key as an option (argparse: 'expected one argument')."""

from __future__ import annotations

import argparse

import pytest

from gridledger.node.keys import api_key
from gridledger.node.keys.api_key import new_api_key


def test_a_key_drawn_with_a_leading_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["-starts-with-a-dash", "_fine-key"])
    monkeypatch.setattr(api_key.secrets, "token_urlsafe", lambda _n: next(draws))
    assert new_api_key() == "_fine-key"


def test_every_new_key_parses_as_the_value_of_api_key() -> None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--api-key")
    for _ in range(500):  # one token in 64 starts with '-' before the redraw
        key = new_api_key()
        assert parser.parse_args(["--api-key", key]).api_key == key
