"""One exception hierarchy per package: every exception class defined in a package derives
from that package's root (node/errors.py, sim/errors.py, market/errors.py,
contracts/errors.py), so a caller catches one type per package and the REST layer maps one
hierarchy (node/rest/errors.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import gridledger
from gridledger.contracts.errors import ContractsError
from gridledger.market.errors import MarketError
from gridledger.node.errors import NodeError
from gridledger.sim.errors import SimError

ROOTS: dict[str, type[Exception]] = {
    "contracts": ContractsError,
    "market": MarketError,
    "node": NodeError,
    "sim": SimError,
}
# Modules that run on import (python -m) or need an optional dependency.
SKIPPED = {"gridledger.node.cli.__main__", "gridledger.sim.pv_pvlib"}


def _exceptions(package: str) -> list[tuple[str, type[BaseException]]]:
    root = importlib.import_module(f"gridledger.{package}")
    found = []
    for info in pkgutil.walk_packages(root.__path__, f"{root.__name__}."):
        if info.name in SKIPPED:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found.append((f"{info.name}.{name}", value))
    return found


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_every_exception_derives_from_its_package_root(package: str) -> None:
    found = _exceptions(package)
    assert found, f"no exception classes found in gridledger.{package}"
    outside = [name for name, cls in found if not issubclass(cls, ROOTS[package])]
    assert outside == [], f"not under {ROOTS[package].__name__}: {outside}"


def test_the_roots_are_distinct() -> None:
    assert len(set(ROOTS.values())) == len(ROOTS)
    assert gridledger.__name__ == "gridledger"
