"""gridledger: a distributed-ledger transactive energy node.

One import root for the product. The repository keeps its layout (contracts/, node/, market/
and sim/ at the top, see docs/architecture.md); this package maps them in as
``gridledger.contracts``, ``gridledger.node``, ``gridledger.market`` and ``gridledger.sim``
(the folders here are links), so an installed wheel puts nothing but ``gridledger`` into
site-packages.
"""
