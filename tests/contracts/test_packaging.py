"""The wheel is one import root, `gridledger`, and carries the contract artifacts: a node
installed with `pip install gridledger` needs no source tree and no Node.js, and puts no
`node`, `market`, `sim` or `contracts` package into site-packages."""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gridledger.contracts.artifacts import DEPLOYABLE

ROOT = Path(__file__).resolve().parents[2]


def _leave_out(folder: str, names: list[str]) -> set[str]:
    """What a fresh clone would not have: caches, environments and the top level's build output."""
    skipped = {".git", ".venv", "node_modules", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
    if Path(folder) == ROOT:
        skipped |= {"build", "dist", "out"}
    return {n for n in names if n in skipped or n.endswith(".egg-info")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools reuses an in-tree build/ directory, whose leftovers (an
    # earlier layout's packages) would go into the wheel.
    source = out / "source"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=_leave_out,
    )
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
            str(out),
            str(source),
        ],
        check=True,
    )
    (built,) = out.glob("gridledger-*.whl")
    return built


def test_wheel_has_one_import_root_and_ships_artifacts(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "gridledger = gridledger.node.cli:main" in z.read(entry_points).decode()
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"gridledger", "gridledger-0.1.0.dist-info"}, top
    for name in DEPLOYABLE:
        assert f"gridledger/contracts/build/{name}.json" in names
    for module in (
        "gridledger/node/cli/__init__.py",
        "gridledger/market/clearing.py",
        "gridledger/sim/fedmgdt.py",
        "gridledger/contracts/typed.py",
        "gridledger/sim/scenarios/fedmgdt.toml",
        "gridledger/node/dashboard/static/index.html",
        "gridledger/node/dashboard/static/app.js",
        "gridledger/node/dashboard/static/app.css",
    ):
        assert module in names


def test_wheel_runs_from_a_fresh_virtual_environment(wheel: Path, tmp_path: Path) -> None:
    """`pip install` of the wheel into a new venv, then the console script, away from the
    source tree. The dependencies come from this environment's site-packages through a path
    entry (a plain path line: the editable install's finder there is not loaded)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    subprocess.run(
        [bin_dir / "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    (fresh_site,) = (venv / "lib").glob("python3.*/site-packages")
    (fresh_site / "zz-test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    work = tmp_path / "work"
    work.mkdir()

    def run(*argv: str) -> str:
        done = subprocess.run(
            [str(bin_dir / "gridledger"), *argv],
            check=False,
            cwd=work,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    where = subprocess.run(
        [bin_dir / "python", "-c", "import gridledger; print(gridledger.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(fresh_site)), where
    for stray in ("node", "market", "sim", "contracts"):
        assert not (fresh_site / stray).exists()
    assert "demo" in run("--help")
    run("sim", "run", "fedmgdt", "--out", str(work / "out"))
    assert any((work / "out").rglob("*.csv"))
