"""The node package's exception hierarchy (mapped to HTTP in exactly one place)."""

from __future__ import annotations


class NodeError(Exception):
    """Base of every error raised by the node package."""


class ConfigError(NodeError, ValueError):
    """A configuration value or file is invalid; the message names the key."""


class LedgerError(NodeError):
    """The ledger refused or failed an operation."""


class NotDeployedError(LedgerError):
    """The node has no contract deployment yet (an external ledger waiting for funds)."""


class TransactionFailedError(LedgerError):
    """A transaction passed its preflight call but reverted when mined (the state changed
    in between, e.g. the gate closed)."""


class ContractRevertError(LedgerError):
    """A contract call reverted with a (decoded, if known) custom error.

    `name` is the Solidity error name (e.g. ``MeteringSequenceReplayed``) or ``"Unknown"``;
    `args` are its decoded arguments; `data` is the raw revert data, kept for clients.
    """

    def __init__(self, name: str, args: tuple[object, ...], data: bytes) -> None:
        self.name = name
        self.error_args = args
        self.data = data
        rendered = ", ".join(repr(a) for a in args)
        super().__init__(f"{name}({rendered})")
