"""The read model of the chain: contracts, events, market intervals, audit records; REST and
the auditor both read through it."""
