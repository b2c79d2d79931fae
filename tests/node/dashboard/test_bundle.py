"""The committed bundle (node/dashboard/static) is what web/src builds to, and the page
loads nothing from another origin (no CDN: users' machines may be offline)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gridledger.node.dashboard import STATIC_DIR

WEB = Path(__file__).resolve().parents[3] / "web"


def test_the_committed_bundle_is_fresh(tmp_path: Path) -> None:
    if not (WEB / "node_modules" / "esbuild").exists():
        pytest.fail("web/node_modules is missing: run `make dashboard` (make test does)")
    node = shutil.which("node")
    assert node is not None
    subprocess.run(
        [node, "build.mjs"],
        cwd=WEB,
        env={**os.environ, "DASHBOARD_OUT": str(tmp_path)},
        check=True,
        timeout=120,
    )
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in STATIC_DIR.iterdir())
    for name in built:
        assert (tmp_path / name).read_bytes() == (STATIC_DIR / name).read_bytes(), (
            f"node/dashboard/static/{name} is stale: run `make dashboard` and commit it"
        )


def test_the_page_loads_nothing_from_another_origin() -> None:
    for name in ("index.html", "app.js", "app.css"):
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), name
        assert "@import url(http" not in text, name
