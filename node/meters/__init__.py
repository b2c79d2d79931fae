"""Meters feeding a prosumer node (L1): the intake behind ``POST /v1/readings`` (signature and
sequence checked before anything is relayed, batched into Metering transactions; its queue
kept on disk across crashes by queue_store), the replay of a measured CSV through a node's
REST API, and the simulator's feed. docs/meters.md."""
