"""The embedded chain's execution classes: Cancun state and computation.

For now these are py-evm's own (subclassed so a faster interpreter can replace
`apply_computation` here without touching the other engines: eth-tester keeps stock py-evm).
"""

from __future__ import annotations

from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.state import CancunState


class GridledgerComputation(CancunComputation):
    """Cancun computation of the embedded chain."""


class GridledgerState(CancunState):
    """Cancun state whose computations run as GridledgerComputation."""

    computation_class = GridledgerComputation
