"""Rate-limited warnings: one per key per interval, with the count of those held back."""

from __future__ import annotations

import logging

import pytest

from gridledger.node.p2p.throttle import LogThrottle


def test_one_warning_per_key_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test.throttle")
    now_s = [100.0]
    throttle = LogThrottle(logging.getLogger("test.throttle"), 10.0, clock=lambda: now_s[0])
    assert throttle.warning("peer-b", "peer %s sent a bad message: %s", "b", "first")
    assert not throttle.warning("peer-b", "peer %s sent a bad message: %s", "b", "second")
    assert throttle.warning("peer-c", "peer %s sent a bad message: %s", "c", "other key")
    now_s[0] = 109.9
    assert not throttle.warning("peer-b", "peer %s sent a bad message: %s", "b", "third")
    now_s[0] = 112.0
    assert throttle.warning("peer-b", "peer %s sent a bad message: %s", "b", "fourth")
    assert [r.getMessage() for r in caplog.records] == [
        "peer b sent a bad message: first",
        "peer c sent a bad message: other key",
        "peer b sent a bad message: fourth (2 more like it in the last 12 s)",
    ]
