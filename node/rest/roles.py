"""The role services the REST API's role endpoints call: the node's operator service (None on
a node that runs none), its regulator desk, and the prosumer's consent to import-cap terms."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.contracts.typed import TERMS_DOMAIN_NAME, domain_separator, terms_digest
from gridledger.contracts.typed import terms_consent as sign_consent
from gridledger.node.accounting import ContractTerms
from gridledger.node.operator.service import OperatorService
from gridledger.node.regulator.desk import RegulatorDesk
from gridledger.node.rest.errors import NotAnOperatorNodeError, NotThisNodesParticipantError
from gridledger.node.views.chain import ChainView


@dataclass(frozen=True, slots=True)
class RoleDesk:
    chain: ChainView
    regulator: RegulatorDesk
    operator_service: OperatorService | None

    def operator(self) -> OperatorService:
        if self.operator_service is None:
            raise NotAnOperatorNodeError(
                "this node runs no operator service; send operator requests to the operator's "
                "node (node1 of a testnet)"
            )
        return self.operator_service

    def consent(self, terms: ContractTerms) -> tuple[str, str]:
        """The prosumer's EIP-712 consent to `terms` (digest, signature), as 0x-hex."""
        prosumer = self.chain.service.accounts["prosumer"]
        if terms.importer.lower() != prosumer.address.lower():
            raise NotThisNodesParticipantError(
                f"the importer {terms.importer} is not this node's prosumer {prosumer.address}"
            )
        chain_id = int(self.chain.w3.eth.chain_id)
        cap = self.chain.address("ImportCap")
        digest = terms_digest(terms.as_abi(), domain_separator(chain_id, cap, TERMS_DOMAIN_NAME))
        signature = sign_consent(terms.as_abi(), bytes(prosumer.key), chain_id, cap)
        return "0x" + digest.hex(), "0x" + signature.hex()
