"""GET /v1/audit/report: `gridledger audit --json` run by the node on its own ledger (the
same reader, reference replay and document as node/cli/audit.py), for the dashboard's audit
button."""

from __future__ import annotations

from eth_utils.address import to_checksum_address

from gridledger.node.audit.chain import open_reader
from gridledger.node.audit.format import AuditContext, document
from gridledger.node.audit.locate import Located
from gridledger.node.audit.replay import audit
from gridledger.node.dashboard.records import AuditReportOut
from gridledger.node.views.chain import ChainView


class AuditRunner:
    def __init__(self, chain: ChainView) -> None:
        self.chain = chain

    def report(self, block: int | None) -> AuditReportOut:
        """The audit at `block` (default: the head) of every contract on this node's
        ImportCap, from the ReadingAccepted events of its Metering. AuditInputError when it
        cannot start (a block past the head)."""
        addresses = self.chain.deployment().addresses
        located = Located(
            import_cap=to_checksum_address(addresses["ImportCap"]),
            metering=to_checksum_address(addresses["Metering"]),
            trust=to_checksum_address(addresses["Trust"]),
            source="this node's deployment",
        )
        reader = open_reader(self.chain.w3, located, block)  # AuditInputError: the route's 422
        result = audit(reader)
        ctx = AuditContext.of(reader, "/rpc")
        mismatches = [str(m) for m in result.mismatches()]
        return AuditReportOut(
            block=reader.block,
            matches=not mismatches,
            mismatches=mismatches,
            document=document(ctx, result),
        )
