"""The wheel carries the contract artifacts: a node installed with `pip install .` needs no
source tree and no Node.js."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from contracts.artifacts import DEPLOYABLE

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_artifacts_and_entry_point(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("gridledger-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "gridledger = node.cli:main" in z.read(entry_points).decode()
        z.extractall(tmp_path / "site")
    for name in DEPLOYABLE:
        assert f"contracts/build/{name}.json" in names
    for module in ("node/cli.py", "market/clearing.py", "sim/fedmgdt.py", "contracts/typed.py"):
        assert module in names
    assert not any(n.startswith("tests/") for n in names)
    # Loaded from the unpacked wheel, away from the source tree.
    probe = (
        "import contracts, sys; from contracts.artifacts import load_artifact; "
        "assert contracts.__file__.startswith(sys.argv[1]), contracts.__file__; "
        "print(len(load_artifact('Market').abi))"
    )
    site = str(tmp_path / "site")
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {site!r}); {probe}", site],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) > 20
