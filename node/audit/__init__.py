"""The auditor: replays the readings on chain and compares the contracts' status."""
