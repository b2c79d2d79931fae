"""The operator's and the regulator's REST endpoints and the role keys: each endpoint with its
role's key does what it says; a wrong key (401), another role's key (403), an unknown
participant, a duplicate admission, a cap outside the regulated bounds, a closed gate, the
faucet's limit and a bad rule each get their precise 4xx and change nothing."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from eth_account import Account

from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.config import OperatorConfig
from gridledger.node.keys.api_key import API_ROLES, api_key_file, load_or_create_api_key
from tests.node.rest.inprocess import InProcessNode

LIMIT_UNITS = 50 * TOKEN_UNITS


@pytest.fixture(scope="module")
def opnode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    """A node running the operator service (no members, no automatic clearing)."""
    config = OperatorConfig(auto_clear=False, faucet_grant_units=0, faucet_limit_units=LIMIT_UNITS)
    node = InProcessNode(tmp_path_factory.mktemp("roles") / "data", operator=config)
    yield node
    node.stop()


def key(node: InProcessNode, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {load_or_create_api_key(node.data_dir, role)}"}


def post(
    node: InProcessNode, path: str, body: Any, role: str | None = "operator"
) -> requests.Response:
    headers = key(node, role) if role else {}
    return requests.post(node.url + path, json=body, headers=headers, timeout=60)


def nonce(node: InProcessNode, role: str) -> int:
    return int(node.w3.eth.get_transaction_count(node.address(role)))


def cap_terms(node: InProcessNode, upper_w: int) -> dict[str, Any]:
    start = node.head_ts() + 3600
    return {
        "importer": node.address("prosumer"),
        "kind": "upper",
        "window_start_s": 61_200,
        "window_end_s": 72_000,
        "counterparty": node.address("operator"),
        "valid_from_ts": start,
        "valid_to_ts": start + 86_400,
        "upper_w": upper_w,
        "lambda_units_per_kwh": TOKEN_UNITS,
        "beta_wad_per_kwh": 5 * 10**17,
    }


def test_every_role_has_its_own_key_file_with_mode_0600(opnode: InProcessNode) -> None:
    keys = {load_or_create_api_key(opnode.data_dir, r) for r in API_ROLES}
    assert len(keys) == 3
    for role in API_ROLES:
        mode = stat.S_IMODE((opnode.data_dir / api_key_file(role)).stat().st_mode)
        assert mode == 0o600


@pytest.mark.parametrize(
    ("path", "role", "status", "error"),
    [
        ("/v1/operator/admissions", None, 401, "Unauthorized"),
        ("/v1/operator/admissions", "prosumer", 403, "WrongRole"),
        ("/v1/operator/admissions", "regulator", 403, "WrongRole"),
        ("/v1/regulator/band", "operator", 403, "WrongRole"),
        ("/v1/regulator/band", "prosumer", 403, "WrongRole"),
        ("/v1/orders", "operator", 403, "WrongRole"),
        ("/v1/consents", "regulator", 403, "WrongRole"),
    ],
)
def test_a_key_opens_only_its_roles_endpoints(
    opnode: InProcessNode, path: str, role: str | None, status: int, error: str
) -> None:
    before = {r: nonce(opnode, r) for r in ("operator", "regulator", "prosumer")}
    reply = post(opnode, path, {"anything": 1}, role)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == error
    assert {r: nonce(opnode, r) for r in before} == before


def test_a_wrong_key_is_401(opnode: InProcessNode) -> None:
    reply = requests.post(
        opnode.url + "/v1/operator/funds",
        json={"account": opnode.address("prosumer"), "amount_units": 1},
        headers={"Authorization": "Bearer not-a-key"},
        timeout=30,
    )
    assert reply.status_code == 401
    assert reply.json() == {"error": "Unauthorized", "message": "wrong API key"}


def test_admit_then_a_duplicate_admission_is_409_and_sends_nothing(opnode: InProcessNode) -> None:
    participant, meter = Account.create().address, Account.create().address
    reply = post(opnode, "/v1/operator/admissions", {"participant": participant, "meter": meter})
    assert reply.status_code == 201, reply.text
    assert reply.json()["participant"] == participant
    assert opnode.contract("Registry").functions.meterOf(participant).call() == meter
    before = nonce(opnode, "operator")
    again = post(
        opnode,
        "/v1/operator/admissions",
        {"participant": participant, "meter": Account.create().address},
    )
    assert again.status_code == 409
    assert again.json()["error"] == "RegistryAlreadyAdmitted"
    assert again.json()["args"] == {"participant": participant}
    assert nonce(opnode, "operator") == before


def test_funding_an_unknown_participant_is_404_and_mints_nothing(opnode: InProcessNode) -> None:
    stranger = Account.create().address
    supply = opnode.contract("GridToken").functions.totalSupply().call()
    reply = post(opnode, "/v1/operator/funds", {"account": stranger, "amount_units": 5})
    assert reply.status_code == 404
    assert reply.json()["error"] == "UnknownParticipant"
    assert stranger in reply.json()["message"]
    assert opnode.contract("GridToken").functions.totalSupply().call() == supply


def test_the_faucet_funds_up_to_its_limit_per_account(opnode: InProcessNode) -> None:
    participant = Account.create().address
    post(
        opnode,
        "/v1/operator/admissions",
        {"participant": participant, "meter": Account.create().address},
    ).raise_for_status()
    token = opnode.contract("GridToken").functions
    reply = post(
        opnode, "/v1/operator/funds", {"account": participant, "amount_units": 30 * TOKEN_UNITS}
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["faucet_total_units"] == 30 * TOKEN_UNITS
    assert token.balanceOf(participant).call() == 30 * TOKEN_UNITS
    over = post(
        opnode, "/v1/operator/funds", {"account": participant, "amount_units": 21 * TOKEN_UNITS}
    )
    assert over.status_code == 409
    assert over.json()["error"] == "FaucetLimitReached"
    assert str(LIMIT_UNITS) in over.json()["message"]
    assert token.balanceOf(participant).call() == 30 * TOKEN_UNITS


def test_a_cap_with_the_importers_consent_is_created(opnode: InProcessNode) -> None:
    if not opnode.contract("Registry").functions.isActive(opnode.address("prosumer")).call():
        opnode.admit_prosumer(0)
    terms = cap_terms(opnode, 6_000)
    consent = post(opnode, "/v1/consents", terms, "prosumer")
    assert consent.status_code == 200, consent.text
    cap = opnode.contract("ImportCap").functions
    count = cap.contractCount().call()
    reply = post(
        opnode, "/v1/operator/caps", {"terms": terms, "consent": consent.json()["consent"]}
    )
    assert reply.status_code == 201, reply.text
    assert cap.contractCount().call() == count + 1
    stored = cap.contractTerms(reply.json()["contract_id"]).call()
    assert stored[0] == opnode.address("prosumer")
    assert stored[8] == 6_000
    # the same consent twice: ImportCapConsentUsed, nothing created
    replay = post(
        opnode, "/v1/operator/caps", {"terms": terms, "consent": consent.json()["consent"]}
    )
    assert replay.status_code == 409
    assert replay.json()["error"] == "ImportCapConsentUsed"
    assert cap.contractCount().call() == count + 1


def test_a_cap_outside_the_regulated_bounds_is_422_and_creates_nothing(
    opnode: InProcessNode,
) -> None:
    if not opnode.contract("Registry").functions.isActive(opnode.address("prosumer")).call():
        opnode.admit_prosumer(0)
    terms = cap_terms(opnode, 2_000_000)  # the default bounds are +-1,000,000 W
    consent = post(opnode, "/v1/consents", terms, "prosumer").json()["consent"]
    count = opnode.contract("ImportCap").functions.contractCount().call()
    before = nonce(opnode, "operator")
    reply = post(opnode, "/v1/operator/caps", {"terms": terms, "consent": consent})
    assert reply.status_code == 422
    assert reply.json()["error"] == "ImportCapBoundOutsideRegulation"
    assert reply.json()["args"] == {
        "boundW": 2_000_000,
        "minCapW": -1_000_000,
        "maxCapW": 1_000_000,
    }
    assert opnode.contract("ImportCap").functions.contractCount().call() == count
    assert nonce(opnode, "operator") == before


def test_a_cap_for_an_unknown_importer_is_404(opnode: InProcessNode) -> None:
    terms = {**cap_terms(opnode, 1_000), "importer": Account.create().address}
    reply = post(opnode, "/v1/operator/caps", {"terms": terms, "consent": "0x" + "11" * 65})
    assert reply.status_code == 404
    assert reply.json()["error"] == "UnknownParticipant"


def test_consent_for_another_importer_is_refused(opnode: InProcessNode) -> None:
    terms = {**cap_terms(opnode, 1_000), "importer": Account.create().address}
    reply = post(opnode, "/v1/consents", terms, "prosumer")
    assert reply.status_code == 422
    assert reply.json()["error"] == "NotThisNodesParticipant"


def test_clearing_an_interval_whose_gate_is_open_is_409(opnode: InProcessNode) -> None:
    market = requests.get(opnode.url + "/v1/market", timeout=30).json()
    interval = market["open_interval"] + 1
    before = nonce(opnode, "operator")
    reply = post(opnode, "/v1/operator/clearings", {"interval": interval})
    assert reply.status_code == 409
    assert reply.json()["error"] == "MarketUnexpectedPhase"
    assert reply.json()["args"] == {"interval": interval, "current": 0}  # Phase.Open
    assert nonce(opnode, "operator") == before


def test_an_order_for_a_closed_gate_is_409_and_sends_nothing(opnode: InProcessNode) -> None:
    if not opnode.contract("Registry").functions.isActive(opnode.address("prosumer")).call():
        opnode.admit_prosumer(0)
    closed = requests.get(opnode.url + "/v1/market", timeout=30).json()["last_closed_interval"]
    before = nonce(opnode, "prosumer")
    reply = post(
        opnode,
        "/v1/orders",
        {"side": "sell", "quantity_wh": 100, "limit_price_per_kwh": 100_000, "interval": closed},
        "prosumer",
    )
    assert reply.status_code == 409
    assert reply.json()["error"] == "MarketUnexpectedPhase"
    assert reply.json()["args"]["interval"] == closed
    assert nonce(opnode, "prosumer") == before


def test_the_regulator_changes_a_rule_and_a_bad_one_is_422(opnode: InProcessNode) -> None:
    rules = requests.get(opnode.url + "/v1/regulation", timeout=30).json()
    assert rules["admission_policy"] == "operator-or-regulator"
    reply = post(
        opnode, "/v1/regulator/cap-bounds", {"min_cap_w": -5_000, "max_cap_w": 20_000}, "regulator"
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["rules"]["max_cap_w"] == 20_000
    bad = post(
        opnode,
        "/v1/regulator/band",
        {"floor_per_kwh": 300_000, "ceiling_per_kwh": 100_000},
        "regulator",
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "RegulationInvalidPriceBand"
    after = requests.get(opnode.url + "/v1/regulation", timeout=30).json()
    assert after["price_floor_per_kwh"] == rules["price_floor_per_kwh"]
    assert after["price_ceiling_per_kwh"] == rules["price_ceiling_per_kwh"]
    restore = {"min_cap_w": rules["min_cap_w"], "max_cap_w": rules["max_cap_w"]}
    post(opnode, "/v1/regulator/cap-bounds", restore, "regulator").raise_for_status()


def test_a_closed_admission_policy_refuses_admission_with_403(opnode: InProcessNode) -> None:
    post(
        opnode, "/v1/regulator/admission-policy", {"policy": "closed"}, "regulator"
    ).raise_for_status()
    try:
        participant = Account.create().address
        reply = post(
            opnode,
            "/v1/operator/admissions",
            {"participant": participant, "meter": Account.create().address},
        )
        assert reply.status_code == 403
        assert reply.json()["error"] == "RegistryAdmissionClosed"
        assert not opnode.contract("Registry").functions.isActive(participant).call()
    finally:
        post(
            opnode,
            "/v1/regulator/admission-policy",
            {"policy": "operator-or-regulator"},
            "regulator",
        ).raise_for_status()


def test_a_node_without_the_operator_service_says_so(fresh_node: InProcessNode) -> None:
    reply = post(
        fresh_node,
        "/v1/operator/admissions",
        {"participant": Account.create().address, "meter": Account.create().address},
    )
    assert reply.status_code == 409
    assert reply.json()["error"] == "NotAnOperatorNode"


@pytest.mark.parametrize(
    ("path", "body", "rules"),
    [
        (
            "band",
            {"floor_per_kwh": 90_000, "ceiling_per_kwh": 280_000},
            {"price_floor_per_kwh": 90_000, "price_ceiling_per_kwh": 280_000},
        ),
        ("charge", {"charge_per_kwh": 20_000}, {"network_charge_per_kwh": 20_000}),
        ("min-trust", {"min_trust_wad": 10**17}, {"min_trust_wad": 10**17}),
        ("admission-policy", {"policy": "regulator-only"}, {"admission_policy": "regulator-only"}),
        (
            "delivery-terms",
            {"penalty_per_kwh": 400_000, "beta_wad_per_kwh": 10**18},
            {"delivery_penalty_per_kwh": 400_000, "delivery_beta_wad_per_kwh": 10**18},
        ),
        (
            "cap-factors",
            {"max_penalty_per_kwh": 5_000_000, "max_beta_wad_per_kwh": 2 * 10**18},
            {"max_cap_penalty_per_kwh": 5_000_000, "max_cap_beta_wad_per_kwh": 2 * 10**18},
        ),
    ],
)
def test_each_rule_changes_on_chain_and_is_put_back(
    opnode: InProcessNode, path: str, body: dict[str, Any], rules: dict[str, Any]
) -> None:
    before = requests.get(opnode.url + "/v1/regulation", timeout=30).json()
    reply = post(opnode, f"/v1/regulator/{path}", body, "regulator")
    assert reply.status_code == 200, reply.text
    after = requests.get(opnode.url + "/v1/regulation", timeout=30).json()
    assert after == {**before, **rules}
    assert reply.json()["rules"] == after
    undo = {k: before[r] for k, r in zip(body, rules, strict=True)}
    post(opnode, f"/v1/regulator/{path}", undo, "regulator").raise_for_status()
    assert requests.get(opnode.url + "/v1/regulation", timeout=30).json() == before
