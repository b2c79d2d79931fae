"""events.recent: the most recent events, searched back from the head one window at a time,
asking the ledger for no more of the history than it takes."""

from __future__ import annotations

from typing import Any

import pytest

from gridledger.node.views import events


def _ledger(blocks_with_events: list[int], asked: list[tuple[int, int]]) -> Any:
    def get(from_block: int, to_block: int) -> list[dict[str, int]]:
        asked.append((from_block, to_block))
        return [{"blockNumber": b} for b in blocks_with_events if from_block <= b <= to_block]

    return get


def test_the_last_events_come_oldest_first_from_the_fewest_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "WINDOW_BLOCKS", 10)
    asked: list[tuple[int, int]] = []
    get = _ledger([3, 12, 15, 27, 28, 41], asked)
    found = events.recent(get, 45, 3)
    assert [e["blockNumber"] for e in found] == [27, 28, 41]
    assert asked == [(36, 45), (26, 35)]  # two windows held three events; nothing older asked


def test_fewer_events_than_asked_searches_to_genesis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "WINDOW_BLOCKS", 10)
    asked: list[tuple[int, int]] = []
    found = events.recent(_ledger([3, 12], asked), 25, 5)
    assert [e["blockNumber"] for e in found] == [3, 12]
    assert asked == [(16, 25), (6, 15), (0, 5)]
    assert events.recent(_ledger([], []), 0, 1) == []
