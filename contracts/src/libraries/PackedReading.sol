// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title PackedReading
/// @notice Unpacks the part of a verified reading ImportCap needs; Metering packs it in one word
/// so it forwards 32 bytes per reading instead of re-encoding the whole struct.
/// Layout (bit offsets): intervalStartTs [0, 64), durationS [64, 96), importWh [96, 160),
/// exportWh [160, 224).
library PackedReading {
    function intervalStartTs(uint256 word) internal pure returns (uint64) {
        return uint64(word);
    }

    function durationS(uint256 word) internal pure returns (uint32) {
        return uint32(word >> 64);
    }

    function importWh(uint256 word) internal pure returns (uint64) {
        return uint64(word >> 96);
    }

    function exportWh(uint256 word) internal pure returns (uint64) {
        return uint64(word >> 160);
    }
}
