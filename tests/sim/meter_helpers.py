"""Participant addresses and Metering domains for the bus tests."""

from __future__ import annotations

from eth_utils.address import to_checksum_address

from gridledger.sim.meter import MeteringDomain

PARTICIPANT_A = to_checksum_address("0x" + "a1" * 20)
PARTICIPANT_B = to_checksum_address("0x" + "b2" * 20)
DOMAIN_A = MeteringDomain(31337, "0x" + "11" * 20)
DOMAIN_B = MeteringDomain(1337, "0x" + "22" * 20)
