"""The embedded ledger: a py-evm chain (Cancun) persisted in SQLite, served over JSON-RPC."""
