"""L5: access to the ledger through web3.py (deploy, typed calls, revert decoding)."""
