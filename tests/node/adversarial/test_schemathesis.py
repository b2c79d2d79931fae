"""schemathesis (every check) against a real node's /openapi.json, with its API key: no
server error, no crash, every answer as documented. Bounded for `make test`; a longer run:

    GRIDLEDGER_SCHEMATHESIS_EXAMPLES=500 GRIDLEDGER_SCHEMATHESIS_SEED=random \\
        .venv/bin/pytest -q -p no:randomly -n 0 -s tests/node/adversarial/test_schemathesis.py

(docs/rest.md, "Adversarial tests"). The settings, each with its reason, are in
schemathesis.toml beside this file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gridledger.node.keys.api_key import load_or_create_api_key
from tests.node.adversarial.conftest import NODE
from tests.node.adversarial.guard import acknowledge, assert_intact
from tests.node.testnet.harness import LocalTestnet

EXAMPLES_ENV = "GRIDLEDGER_SCHEMATHESIS_EXAMPLES"
SEED_ENV = "GRIDLEDGER_SCHEMATHESIS_SEED"
CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    net: LocalTestnet, tmp_path: Path
) -> None:
    before = acknowledge(net, NODE, net.account(NODE))
    key = load_or_create_api_key(net.data_dir / NODE)
    seed = os.environ.get(SEED_ENV, "1")
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{net.entry(NODE).url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        os.environ.get(EXAMPLES_ENV, "20"),
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {key}",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        *([] if seed == "random" else ["--seed", seed]),
    ]
    done = subprocess.run(
        command, cwd=tmp_path, check=False, capture_output=True, text=True, timeout=1800
    )
    print(done.stdout[-1500:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert_intact(net, NODE, before)
