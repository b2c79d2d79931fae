"""NatSpec on every external and public function, event and custom error of the project's
contracts (docs/contracts.md): a `@notice` each, and a `@param` for every named parameter of a
function, read from solc's own userdoc/devdoc output (NatSpec as the compiler parses it, so
`@inheritdoc` counts and a `@param` that names no parameter is a compile error)."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from gridledger.contracts.build import compile_sources, read_sources

OUTPUTS = {"*": {"*": ["abi", "userdoc", "devdoc"], "": ["ast"]}}


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


def _declared_functions(ast: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(contract name, AST node) of each external/public function declared in one file."""
    out = []
    for contract in ast["nodes"]:
        if contract.get("nodeType") != "ContractDefinition":
            continue
        for node in contract["nodes"]:
            if (
                node.get("nodeType") == "FunctionDefinition"
                and node.get("kind") == "function"
                and node.get("visibility") in ("external", "public")
            ):
                out.append((contract["name"], node))
    return out


def _declared_names(ast: dict[str, Any], kind: str) -> set[str]:
    """Names of the events ('EventDefinition') or errors ('ErrorDefinition') in one file."""
    names = set()
    stack = list(ast["nodes"])
    while stack:
        node = stack.pop()
        if node.get("nodeType") == kind:
            names.add(node["name"])
        stack.extend(node.get("nodes", []))
    return names


def missing_natspec(sources: dict[str, str]) -> list[str]:
    """Every gap in `sources` ({path: Solidity text}), as 'path:Contract.member: what'."""
    output, _, _ = compile_sources(sources, OUTPUTS)
    gaps = set()
    for path in sorted(sources):
        ast = output["sources"][path]["ast"]
        contracts = output["contracts"].get(path, {})
        for name, fn in _declared_functions(ast):
            user = contracts[name]["userdoc"].get("methods", {})
            dev = contracts[name]["devdoc"].get("methods", {})
            sig = {_selector(s): s for s in user | dev}.get("0x" + fn["functionSelector"])
            where = f"{path}:{name}.{fn['name']}"
            if sig is None or not user.get(sig, {}).get("notice"):
                gaps.add(f"{where}: no @notice")
            params = dev.get(sig, {}).get("params", {}) if sig else {}
            for p in fn["parameters"]["parameters"]:
                if p["name"] and p["name"] not in params:
                    gaps.add(f"{where}: no @param {p['name']}")
        for kind, key, node_type in (
            ("event", "events", "EventDefinition"),
            ("error", "errors", "ErrorDefinition"),
        ):
            own = _declared_names(ast, node_type)
            for name, item in contracts.items():
                documented = item["userdoc"].get(key, {})
                for entry in item["abi"]:
                    if entry["type"] != kind or entry["name"] not in own:
                        continue
                    sig = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
                    docs = documented.get(sig)
                    # userdoc lists errors as [{notice}], events as {notice}.
                    doc = docs[0] if isinstance(docs, list) else (docs or {})
                    if not doc.get("notice"):
                        gaps.add(f"{path}:{name} {kind} {entry['name']}: no @notice")
    return sorted(gaps)


def test_every_external_function_event_and_error_has_natspec() -> None:
    gaps = missing_natspec(read_sources())
    assert gaps == [], f"{len(gaps)} gaps:\n" + "\n".join(gaps)


def test_the_check_finds_a_missing_notice_a_missing_param_and_an_undocumented_error() -> None:
    source = """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice A probe.
contract Probe {
    /// @notice Documented.
    event Good(uint256 a);
    event Bad(uint256 a);
    error Undocumented(uint256 a);

    /// @notice Has a notice, documents `a` only.
    /// @param a The first.
    function half(uint256 a, uint256 b) external pure returns (uint256) {
        return a + b;
    }

    function bare() external pure {}

    /// @notice Complete.
    /// @param a The only one.
    function full(uint256 a) public pure returns (uint256) {
        if (a == 0) revert Undocumented(a);
        return a;
    }

    function hidden() internal pure {}
}
"""
    assert missing_natspec({"Probe.sol": source}) == [
        "Probe.sol:Probe error Undocumented: no @notice",
        "Probe.sol:Probe event Bad: no @notice",
        "Probe.sol:Probe.bare: no @notice",
        "Probe.sol:Probe.half: no @param b",
    ]
