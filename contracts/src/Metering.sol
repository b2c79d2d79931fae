// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {RegistryGated} from "./RegistryGated.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IMeteringErrors, MeterReading, MeterSignature} from "./interfaces/IMetering.sol";

interface IReadingSink {
    /// @notice Account a run of verified readings (ImportCap.recordReadings).
    /// @param participant The participant.
    /// @param readings Packed readings (PackedReading).
    function recordReadings(address participant, uint256[] calldata readings) external;
}

/// @title Metering
/// @notice Accepts batches of EIP-712 signed meter readings, relayed by anyone. Each reading
/// must be signed by the participant's registered meter, carry the sequence number right after
/// the meter's last (1 for its first reading: no reading can be skipped), start no earlier than
/// the meter's last interval ended, and end no later than the current block. Accepted readings are recorded as ReadingAccepted events and forwarded,
/// per run of one participant, to ImportCap. Any bad reading reverts the whole batch.
contract Metering is EIP712, Pausable, RegistryGated, IMeteringErrors {
    /// @notice EIP-712 type hash of MeterReading.
    bytes32 public constant READING_TYPEHASH =
        keccak256(
            "MeterReading(address meter,address participant,uint64 intervalStartTs,uint32 durationS,uint64 importWh,uint64 exportWh,uint64 seq)"
        );
    /// @notice Most readings in one batch (two hours of one-minute readings).
    uint256 public constant MAX_BATCH = 128;

    struct MeterState {
        uint64 lastSeq;
        uint64 lastEndTs;
    }

    /// @notice Emitted for every accepted reading, inside or outside any contract window.
    event ReadingAccepted(
        address indexed participant,
        uint64 intervalStartTs,
        uint32 durationS,
        uint64 importWh,
        uint64 exportWh,
        uint64 seq
    );

    /// @notice Where verified readings are accounted (ImportCap).
    IReadingSink public immutable sink;

    mapping(address meter => MeterState) private _meters;

    /// @param registry_ Participants and meters.
    /// @param sink_ ImportCap.
    constructor(IRegistry registry_, IReadingSink sink_) EIP712("gridledger.Metering", "1") RegistryGated(registry_) {
        sink = sink_;
    }

    /// @notice Verify and record a batch of signed readings (1..MAX_BATCH).
    /// @param readings The readings (energies [Wh], times [unix s], durations [s]).
    /// @param signatures One signature per reading, by the reading's meter.
    function submitReadings(
        MeterReading[] calldata readings,
        MeterSignature[] calldata signatures
    ) external whenNotPaused {
        uint256 n = readings.length;
        if (n == 0 || n > MAX_BATCH) revert MeteringBatchSize(n, MAX_BATCH);
        if (signatures.length != n) revert MeteringSignatureCount(n, signatures.length);

        bytes32 domain = _domainSeparatorV4();
        // One buffer for all runs: each run is written from index 0 and passed with its length
        // set in place; the buffer's n words stay reserved, so later allocations never overlap.
        uint256[] memory run = new uint256[](n);
        uint256 runLength = 0;
        address participant = readings[0].participant;
        address meter = _checkedMeter(0, readings[0]);
        MeterState memory state = _meters[meter];
        for (uint256 k = 0; k < n; ++k) {
            MeterReading calldata r = readings[k];
            if (r.participant != participant || r.meter != meter) {
                // A new run: flush the previous one before checking this meter.
                _meters[meter] = state;
                _forward(participant, run, runLength);
                runLength = 0;
                participant = r.participant;
                meter = _checkedMeter(k, r);
                state = _meters[meter];
            }
            _verifySignature(k, r, signatures[k], domain);
            // Each calldata field is read (and validated) once.
            uint64 seq = r.seq;
            uint64 startTs = r.intervalStartTs;
            uint32 durationS = r.durationS;
            uint64 importWh = r.importWh;
            uint64 exportWh = r.exportWh;
            // Contiguous: a relayer that withholds a reading cannot get any later one accepted.
            // One comparison on the accepted path (in 256 bits, so lastSeq + 1 cannot wrap).
            if (uint256(seq) != uint256(state.lastSeq) + 1) {
                if (seq <= state.lastSeq) revert MeteringSequenceReplayed(k, meter, seq, state.lastSeq);
                revert MeteringSequenceGap(k, meter, seq, state.lastSeq + 1);
            }
            if (durationS == 0) revert MeteringZeroDuration(k);
            if (startTs < state.lastEndTs) revert MeteringIntervalOverlap(k, meter, startTs, state.lastEndTs);
            uint256 endTs = uint256(startTs) + durationS;
            if (endTs > block.timestamp) revert MeteringIntervalInFuture(k, uint64(endTs), uint64(block.timestamp));
            state.lastSeq = seq;
            state.lastEndTs = uint64(endTs); // endTs <= block.timestamp < 2^64
            // PackedReading layout: start | duration << 64 | import << 96 | export << 160.
            run[runLength] =
                uint256(startTs) |
                (uint256(durationS) << 64) |
                (uint256(importWh) << 96) |
                (uint256(exportWh) << 160);
            ++runLength;
            emit ReadingAccepted(participant, startTs, durationS, importWh, exportWh, seq);
        }
        _meters[meter] = state;
        _forward(participant, run, runLength);
    }

    /// @dev Pass the first `runLength` words of `run` to the sink, then restore the buffer's
    /// full length so the next run can be written from index 0 again.
    function _forward(address participant, uint256[] memory run, uint256 runLength) private {
        uint256 capacity = run.length;
        assembly ("memory-safe") {
            mstore(run, runLength)
        }
        sink.recordReadings(participant, run);
        assembly ("memory-safe") {
            mstore(run, capacity)
        }
    }

    /// @notice Pause accepting readings; operator only.
    function pause() external onlyRole(GridRoles.OPERATOR) {
        _pause();
    }

    /// @notice Resume accepting readings; operator only.
    function unpause() external onlyRole(GridRoles.OPERATOR) {
        _unpause();
    }

    /// @notice Last accepted sequence number and interval end [unix s] of `meter`.
    /// @param meter The meter.
    function meterState(address meter) external view returns (uint64 lastSeq, uint64 lastEndTs) {
        MeterState memory s = _meters[meter];
        return (s.lastSeq, s.lastEndTs);
    }

    /// @notice The EIP-712 digest a meter signs for `reading`.
    /// @param reading The reading.
    function readingDigest(MeterReading calldata reading) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(reading));
    }

    /// @notice The EIP-712 domain separator (bound to chain id and this contract's address).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _checkedMeter(uint256 k, MeterReading calldata r) private view returns (address) {
        address registered = registry.meterOf(r.participant);
        if (registered != r.meter || registered == address(0) || !registry.isActive(r.participant)) {
            revert MeteringUnregisteredMeter(k, r.participant, r.meter, registered);
        }
        return registered;
    }

    function _verifySignature(
        uint256 k,
        MeterReading calldata r,
        MeterSignature calldata sig,
        bytes32 domain
    ) private pure {
        bytes32 digest = MessageHashUtils.toTypedDataHash(domain, _structHash(r));
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, sig.v, sig.r, sig.s);
        if (err == ECDSA.RecoverError.InvalidSignatureS) revert MeteringSignatureHighS(k, sig.s);
        if (err != ECDSA.RecoverError.NoError) revert MeteringSignatureMalformed(k);
        if (recovered != r.meter) revert MeteringSignatureInvalid(k, r.meter, recovered);
    }

    /// @dev hashStruct(MeterReading): the struct is static, so its 7 ABI words sit contiguous in
    /// calldata and are hashed in place after the type hash. Non-canonical (dirty) words would
    /// change the hash, so such a reading fails the signature check rather than being misread.
    function _structHash(MeterReading calldata r) private pure returns (bytes32 h) {
        bytes32 typeHash = READING_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), r, 0xe0)
            h := keccak256(m, 0x100)
        }
    }
}
