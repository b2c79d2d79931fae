// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice One signed meter reading (EIP-712 struct `MeterReading`).
/// @dev Energy over [intervalStartTs, intervalStartTs + durationS): importWh into the microgrid,
/// exportWh out of it, at the point of common coupling. seq is 1, 2, 3, ... per meter, without gaps.
struct MeterReading {
    address meter;
    address participant;
    uint64 intervalStartTs;
    uint32 durationS;
    uint64 importWh;
    uint64 exportWh;
    uint64 seq;
}

/// @notice A secp256k1 signature split into v, r, s (s must be in the lower half order).
struct MeterSignature {
    uint8 v;
    bytes32 r;
    bytes32 s;
}

/// @title IMeteringErrors
/// @notice Custom errors of Metering; `index` is the reading's position in the batch.
interface IMeteringErrors {
    /// @notice The batch is empty or over the cap.
    error MeteringBatchSize(uint256 size, uint256 maxSize);
    /// @notice Readings and signatures differ in number.
    error MeteringSignatureCount(uint256 readings, uint256 signatures);
    /// @notice The signature recovers to `recovered`, not the reading's meter `expected`.
    error MeteringSignatureInvalid(uint256 index, address expected, address recovered);
    /// @notice The signature's s is in the upper half order (malleable).
    error MeteringSignatureHighS(uint256 index, bytes32 s);
    /// @notice The signature is malformed (bad v, or it recovers to no address).
    error MeteringSignatureMalformed(uint256 index);
    /// @notice `meter` is not the registered meter of an active `participant` (`registered` is).
    error MeteringUnregisteredMeter(uint256 index, address participant, address meter, address registered);
    /// @notice `seq` is not above the meter's last accepted sequence number (a replay).
    error MeteringSequenceReplayed(uint256 index, address meter, uint64 seq, uint64 lastSeq);
    /// @notice `seq` skips sequence numbers: the meter's next reading is `expectedSeq` (its last
    /// + 1, 1 for its first). A withheld reading blocks every later one until it is relayed.
    error MeteringSequenceGap(uint256 index, address meter, uint64 seq, uint64 expectedSeq);
    /// @notice The interval starts before the end of the meter's last accepted interval.
    error MeteringIntervalOverlap(uint256 index, address meter, uint64 intervalStartTs, uint64 lastEndTs);
    /// @notice The interval ends after the current block time.
    error MeteringIntervalInFuture(uint256 index, uint64 intervalEndTs, uint64 nowTs);
    /// @notice A reading must cover a positive duration.
    error MeteringZeroDuration(uint256 index);
}
