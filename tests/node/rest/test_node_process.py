"""A real node process: its API key file, OpenAPI and docs, and `gridledger bid` against it
(the prosumer admitted and funded by the node's operator over the node's JSON-RPC)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from web3 import HTTPProvider, Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.cli import main
from gridledger.node.keys import PASSPHRASE_ENV, load_or_create
from gridledger.node.keys.api_key import API_KEY_ENV
from tests.node.nodeproc import PASSPHRASE, NodeProcess, start_node, write_config


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    root = tmp_path_factory.mktemp("proc")
    node = start_node(root / "data", write_config(root / "node.toml", {}))
    yield node
    node.stop()


@pytest.fixture(scope="module")
def funded(proc: NodeProcess) -> NodeProcess:
    """The node's prosumer admitted (with a fresh meter) and holding 100 tokens."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PASSPHRASE_ENV, PASSPHRASE)
        accounts = load_or_create(proc.data_dir / "keystore")
    w3 = Web3(HTTPProvider(f"{proc.url}/rpc", request_kwargs={"timeout": 30}))
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(accounts["operator"]), layer=0)
    addresses = requests.get(f"{proc.url}/v1/contracts/addresses", timeout=10).json()
    operator, prosumer = accounts["operator"].address, accounts["prosumer"].address

    def send(name: str, fn: str, *args: object) -> None:
        contract = w3.eth.contract(address=addresses[name], abi=load_artifact(name).abi)
        tx = getattr(contract.functions, fn)(*args).transact({"from": operator})
        assert w3.eth.wait_for_transaction_receipt(tx, timeout=30)["status"] == 1

    send("Registry", "admit", prosumer, Web3.to_checksum_address("0x" + "5e" * 20))
    send("GridToken", "mint", prosumer, 100 * TOKEN_UNITS)
    return proc


def _key(node: NodeProcess) -> str:
    return (node.data_dir / "api-key").read_text(encoding="utf-8").strip()


def test_the_api_key_file_is_private_and_never_logged(proc: NodeProcess) -> None:
    path = proc.data_dir / "api-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = _key(proc)
    assert len(key) == 43
    log = proc.data_dir.parent / f"node-{proc.data_dir.name}.log"
    assert key not in log.read_text(encoding="utf-8", errors="replace")


def test_openapi_lists_every_endpoint_and_the_bearer_scheme(proc: NodeProcess) -> None:
    spec = requests.get(f"{proc.url}/openapi.json", timeout=10).json()
    assert set(spec["paths"]) >= {
        "/v1/orders",
        "/v1/orders/{order_id}",
        "/v1/market/intervals/{interval}",
        "/v1/contracts",
        "/v1/contracts/{contract_id}",
        "/v1/contracts/addresses",
        "/v1/violations",
        "/v1/readings",
        "/v1/trust/{address}",
        "/v1/layers",
        "/healthz",
        "/v1/market",
        "/v1/node",
        "/v1/balances/{address}",
        "/v1/accounts/{address}/orders",
        "/v1/regulation",
        "/v1/consents",
        "/v1/operator",
        "/v1/operator/admissions",
        "/v1/operator/funds",
        "/v1/operator/caps",
        "/v1/operator/clearings",
        "/v1/regulator/band",
        "/v1/regulator/admission-policy",
        "/v1/dashboard/bills",
        "/v1/dashboard/forecast",
    }
    assert spec["paths"]["/v1/orders"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "get" not in spec["paths"]["/v1/orders"]
    assert "security" not in spec["paths"]["/v1/accounts/{address}/orders"]["get"]
    for path in ("/v1/operator/admissions", "/v1/regulator/band", "/v1/consents"):
        assert spec["paths"][path]["post"]["security"] == [{"HTTPBearer": []}]
    docs = requests.get(f"{proc.url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_bid_places_an_order_in_kwh_and_tokens(
    funded: NodeProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_KEY_ENV, _key(funded))
    argv = ["bid", "--node", funded.url, "--side", "buy", "--kwh", "2", "--price", "0.21"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert " buy 2000 Wh at 210000 units/kWh" in out
    order_id = int(out.split()[1])
    order = requests.get(f"{funded.url}/v1/orders/{order_id}", timeout=10).json()
    assert (order["side"], order["quantity_wh"], order["limit_price_per_kwh"]) == (
        "buy",
        2000,
        210_000,
    )
    assert order["escrow_units"] == 420_000


def test_bid_sell_with_an_interval_and_json(
    funded: NodeProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    layers = requests.get(f"{funded.url}/v1/layers", timeout=10).json()["layers"]
    interval = layers[3]["state"]["next_open_interval"] + 2
    argv = ["bid", "--node", funded.url, "--side", "sell", "--kwh", "1.5", "--price", "0.1"]
    argv += ["--interval", str(interval), "--api-key", _key(funded), "--json"]
    assert main(argv) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == 201
    assert (answer["interval"], answer["quantity_wh"], answer["limit_price_per_kwh"]) == (
        interval,
        1500,
        100_000,
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--price", "0.31"], 1, "error: 422 MarketPriceOutsideBand: the contract refused"),
        (["--api-key", "wrong"], 1, "error: 401 Unauthorized: wrong API key"),
        (["--price", "0.2100001"], 2, "--price 0.2100001 is finer than 1/1000000"),
        (["--kwh", "0.0005"], 2, "--kwh 0.0005 is finer than 1/1000"),
        (["--kwh", "-1"], 2, "--kwh '-1' must be a finite number >= 0"),
        (["--price", "cheap"], 2, "--price 'cheap' is not a number"),
    ],
)
def test_bid_refusals_exit_non_zero_with_the_reason(
    funded: NodeProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    message: str,
) -> None:
    monkeypatch.setenv(API_KEY_ENV, _key(funded))
    base = {"--side": "buy", "--kwh": "1", "--price": "0.2"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["bid", "--node", funded.url] + [x for kv in base.items() for x in kv]
    assert main(argv) == code
    assert message in capsys.readouterr().err


def test_bid_without_a_key_or_a_node(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    argv = ["bid", "--node", "http://127.0.0.1:9", "--side", "buy", "--kwh", "1", "--price", "1"]
    assert main(argv) == 2
    assert f"set {API_KEY_ENV}" in capsys.readouterr().err
    assert main([*argv, "--api-key", "k"]) == 1
    assert "error: cannot reach http://127.0.0.1:9/v1/orders" in capsys.readouterr().err


def test_the_console_command_runs_as_a_process(funded: NodeProcess) -> None:
    env = {**os.environ, API_KEY_ENV: _key(funded)}
    argv = ["--node", funded.url, "--side", "buy", "--kwh", "0.5", "--price", "0.2"]
    done = subprocess.run(
        [sys.executable, "-m", "gridledger.node.cli", "bid", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 0, done.stderr
    assert " buy 500 Wh at 200000 units/kWh" in done.stdout
