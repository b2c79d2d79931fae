"""`python -m gridledger.node.cli`: the `gridledger` command (used by the node launcher)."""

from gridledger.node.cli import main

raise SystemExit(main())
