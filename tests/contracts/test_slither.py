"""Slither on the project's own compiler output: no High or Medium finding without a reason in
contracts/slither-triage.json, and no triage entry that no longer matches a finding."""

from __future__ import annotations

from pathlib import Path

from gridledger.contracts.slither_triage import (
    Finding,
    Triaged,
    load_triage,
    run_slither,
    stale,
    untriaged,
)


def test_every_high_or_medium_finding_is_triaged(tmp_path: Path) -> None:
    findings = run_slither(tmp_path)
    triage = load_triage()
    assert untriaged(findings, triage) == [], "add a fix, or an entry with its reason"
    assert stale(findings, triage) == [], "remove triage entries that match nothing"


def test_an_unlisted_medium_finding_fails_and_low_ones_pass() -> None:
    medium = Finding("reentrancy-no-eth", "Medium", "Medium", "Market", "placeOrder", False, "")
    low = Finding("timestamp", "Low", "Medium", "Market", "phaseOf", False, "")
    listed = Triaged("reentrancy-no-eth", "Market", "placeOrder", "calls trusted contracts")
    assert untriaged([medium, low], []) == [medium]
    assert untriaged([medium, low], [listed]) == []
    assert stale([low], [listed]) == [listed]
