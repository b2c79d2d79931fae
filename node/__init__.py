"""The gridledger node: ledger access, operator, prosumer agents, regulation, HTTP, CLI.

Layers L1 (user), L3 (system operator), L5 (ledger), L6 (communication) and L7 (regulation)
of the seven-layer transactive-energy model.
"""
