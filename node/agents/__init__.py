"""The node's agents: the prosumer (L1) and the operator's contract coordinator (L3), acting on
the ledger through JSON-RPC and on the microgrids through the federation bus."""
