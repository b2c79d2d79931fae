// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {RegistryGated} from "./RegistryGated.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {TrustMath} from "./libraries/TrustMath.sol";
import {CapMath} from "./libraries/CapMath.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IRegulation} from "./interfaces/IRegulation.sol";
import {PackedReading} from "./libraries/PackedReading.sol";
import {DeliveryObligations} from "./DeliveryObligations.sol";
import {BoundKind, ContractTerms, IImportCap} from "./interfaces/IImportCap.sol";

/// @title ImportCap
/// @notice FED-MGDT import-cap contracts and market delivery obligations, audited against
/// signed meter readings forwarded by Metering, through one accounting path.
/// @dev Per reading k of the importer whose interval start lies in the window and validity:
///   P_k dt = (importWh - exportWh) * 3600 [J],  V_k dt = max(0, P_k dt - upperW dt) (Upper),
///   max(0, lowerW dt - P_k dt) (Lower), or their sum (Range);
///   E_viol += V_k dt,  E_total += |P_k| dt.
/// Energies accumulate in joules (W*s), exact for integer Wh readings and W bounds; they are
/// reported in Wh rounded down. penalty = lambda * E_viol[kWh] and trust = exp(-beta * E_viol[kWh])
/// are derived from the accumulators, never stored, so they cannot drift apart.
/// Every change of the accumulators goes through _accountBatch.
///
/// A cleared sell order is a delivery obligation of the same form: importer = the seller,
/// counterparty = the Market's treasury, validity = the market interval, Upper bound =
/// -(filledWh * 3600 / intervalLengthS) W (the sold average export power, rounded down), lambda
/// and beta as Regulation set them when the interval cleared. Its record is reserved when the
/// sell order is placed, and its id is deliveryId(seller, interval) = 2^255 | interval << 160 | seller.
contract ImportCap is EIP712, DeliveryObligations, IImportCap {
    using SafeERC20 for IERC20;

    /// @notice Most contracts one participant may have active at once (bounds the per-reading loop).
    uint256 public constant MAX_ACTIVE_CONTRACTS = 16;
    uint256 private constant J_PER_WH = 3600;
    /// @notice EIP-712 type hash of the terms an importer signs to consent to a contract.
    bytes32 public constant TERMS_TYPEHASH =
        keccak256(
            "ContractTerms(address importer,uint8 kind,uint32 windowStartS,uint32 windowEndS,address counterparty,uint40 validFromTs,uint40 validToTs,int64 lowerW,int64 upperW,uint64 lambdaUnitsPerKwh,uint64 betaWadPerKwh)"
        );

    struct Status {
        uint96 violationJ;
        uint96 totalJ;
        uint64 penaltyPaidUnits;
    }

    struct ParticipantState {
        uint40 lastReadingEndTs;
        uint216 exposureWad;
    }

    /// @dev A contract loaded into memory for the duration of one batch.
    struct Loaded {
        uint256 id;
        ContractTerms terms;
        uint256 violationJ;
        uint256 totalJ;
        bool touched;
    }

    IRegulation public immutable regulation;
    IERC20 public immutable token;

    ContractTerms[] private _terms;
    mapping(uint256 id => Status) private _status;
    mapping(address participant => uint256[]) private _active;
    mapping(address participant => ParticipantState) private _participants;
    /// @dev Consents (EIP-712 digests of signed terms) already used: each binds one contract.
    mapping(bytes32 digest => bool) private _consentUsed;

    /// @param registry_ Roles and participants.
    /// @param regulation_ Cap bounds and delivery terms.
    /// @param token_ Settlement token penalties are paid in.
    constructor(
        IRegistry registry_,
        IRegulation regulation_,
        IERC20 token_
    ) EIP712("gridledger.ImportCap", "1") RegistryGated(registry_) {
        regulation = regulation_;
        token = token_;
    }

    // ---------------------------------------------------------------- creation

    /// @notice Create an import-cap contract the importer consented to; operator only. Bounds must
    /// lie within Regulation's cap bounds, lambda and beta at most Regulation's maxCapPenaltyPerKwh
    /// and maxCapBetaWadPerKwh. One signature binds one contract.
    /// @param terms The contract terms (see ContractTerms; bounds [W], window [s of day, UTC],
    /// validity [unix s], lambda [units/kWh], beta [wad/kWh]).
    /// @param importerSignature The importer's EIP-712 signature of `terms` (65 bytes, r s v;
    /// domain "gridledger.ImportCap" version "1", this chain and contract).
    /// @return id The new contract's id.
    function createContract(
        ContractTerms calldata terms,
        bytes calldata importerSignature
    ) external onlyRole(GridRoles.OPERATOR) returns (uint256 id) {
        bytes32 digest = termsDigest(terms);
        if (_consentUsed[digest]) revert ImportCapConsentUsed(terms.importer, digest);
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, importerSignature);
        if (err != ECDSA.RecoverError.NoError || signer != terms.importer) {
            revert ImportCapNoConsent(terms.importer, signer);
        }
        _consentUsed[digest] = true;
        int64 minCapW = regulation.minCapW();
        int64 maxCapW = regulation.maxCapW();
        if (terms.kind != BoundKind.Upper) _checkRegulated(terms.lowerW, minCapW, maxCapW);
        if (terms.kind != BoundKind.Lower) _checkRegulated(terms.upperW, minCapW, maxCapW);
        uint64 maxPenalty = regulation.maxCapPenaltyPerKwh();
        if (terms.lambdaUnitsPerKwh > maxPenalty) revert ImportCapPenaltyAboveRegulation(terms.lambdaUnitsPerKwh, maxPenalty);
        uint64 maxBeta = regulation.maxCapBetaWadPerKwh();
        if (terms.betaWadPerKwh > maxBeta) revert ImportCapBetaAboveRegulation(terms.betaWadPerKwh, maxBeta);
        return _create(terms);
    }

    function _checkRegulated(int64 boundW, int64 minCapW, int64 maxCapW) private pure {
        if (boundW < minCapW || boundW > maxCapW) revert ImportCapBoundOutsideRegulation(boundW, minCapW, maxCapW);
    }

    function _create(ContractTerms memory terms) private returns (uint256 id) {
        address importer = terms.importer;
        if (!registry.isActive(importer)) revert ImportCapInactiveImporter(importer);
        if (terms.counterparty == address(0) || terms.counterparty == importer) {
            revert ImportCapInvalidCounterparty(terms.counterparty);
        }
        if (terms.validFromTs >= terms.validToTs) revert ImportCapInvalidValidity(terms.validFromTs, terms.validToTs);
        if (terms.windowStartS >= CapMath.SECONDS_PER_DAY || terms.windowEndS >= CapMath.SECONDS_PER_DAY) {
            revert ImportCapInvalidWindow(terms.windowStartS, terms.windowEndS);
        }
        if (terms.kind == BoundKind.Range && terms.lowerW > terms.upperW) {
            revert ImportCapInvalidBounds(terms.kind, terms.lowerW, terms.upperW);
        }
        ParticipantState storage ps = _participants[importer];
        uint40 lastEndTs = ps.lastReadingEndTs;
        if (terms.validFromTs < lastEndTs) revert ImportCapRetroactive(importer, terms.validFromTs, lastEndTs);
        uint256[] storage active = _active[importer];
        _prune(active, lastEndTs);
        if (active.length >= MAX_ACTIVE_CONTRACTS) revert ImportCapTooManyActive(importer, MAX_ACTIVE_CONTRACTS);

        id = _terms.length;
        _terms.push(terms);
        active.push(id);
        emit ContractCreated(
            id,
            importer,
            terms.counterparty,
            terms.kind,
            terms.lowerW,
            terms.upperW,
            terms.validFromTs,
            terms.validToTs
        );
    }

    // ---------------------------------------------------------------- accounting

    /// @notice Account a run of verified readings of one participant, in time order; Metering only.
    /// Readings outside every contract's window change nothing here (Metering has recorded them).
    /// @param participant The participant whose meter signed the readings.
    /// @param readings Verified, non-overlapping readings in increasing time order, each packed
    /// by PackedReading (start [unix s], duration [s], import and export [Wh]).
    function recordReadings(
        address participant,
        uint256[] calldata readings
    ) external onlyRole(GridRoles.METERING) {
        _accountBatch(participant, readings);
    }

    function _accountBatch(address participant, uint256[] calldata readings) private {
        uint256[] storage active = _active[participant];
        uint256 count = active.length;
        Loaded[] memory loaded = new Loaded[](count);
        for (uint256 c = 0; c < count; ++c) {
            uint256 id = active[c];
            Status storage s = _status[id];
            loaded[c] = Loaded({id: id, terms: _terms[id], violationJ: s.violationJ, totalJ: s.totalJ, touched: false});
        }
        ParticipantState storage ps = _participants[participant];
        uint256 exposure = ps.exposureWad;
        MarketLink memory link = _link;
        DeliveryCursor memory d;

        uint256 n = readings.length;
        for (uint256 k = 0; k < n; ++k) {
            uint256 word = readings[k];
            int256 netJ;
            // Cannot overflow: importWh and exportWh are below 2^64, so |netJ| < 2^64 * 3600 < 2^76.
            unchecked {
                netJ =
                    (int256(uint256(PackedReading.importWh(word))) - int256(uint256(PackedReading.exportWh(word)))) *
                    int256(J_PER_WH);
            }
            uint256 absJ = netJ >= 0 ? uint256(netJ) : uint256(-netJ);
            uint64 startTs = PackedReading.intervalStartTs(word);
            uint256 dtS = PackedReading.durationS(word);
            for (uint256 c = 0; c < count; ++c) {
                Loaded memory l = loaded[c];
                if (!CapMath.applies(l.terms, startTs)) continue;
                uint256 vJ = CapMath.readingViolationJ(l.terms, netJ, dtS);
                // Cannot overflow: absJ < 2^76 and vJ < 2^97 per reading, at most MAX_BATCH
                // (128 < 2^7) readings per batch, and the accumulators start below 2^96.
                unchecked {
                    l.totalJ += absJ;
                    l.violationJ += vJ;
                }
                l.touched = true;
                if (vJ != 0) {
                    emit ViolationRecorded(l.id, participant, startTs, vJ / J_PER_WH, l.violationJ / J_PER_WH);
                }
            }
            if (address(link.deliveries) != address(0) && startTs >= link.epochStartTs) {
                uint64 interval = uint64((startTs - link.epochStartTs) / link.intervalLengthS);
                if (!d.loaded || interval != d.interval) {
                    exposure = _flushDelivery(participant, d, exposure);
                    _loadDelivery(participant, interval, link, d);
                }
                if (d.obligated) {
                    uint256 vJ = CapMath.overJ(netJ, d.upperW, dtS);
                    // Cannot overflow: as above.
                    unchecked {
                        d.totalJ += absJ;
                        d.violationJ += vJ;
                    }
                    if (vJ != 0) {
                        emit ViolationRecorded(
                            deliveryId(participant, interval),
                            participant,
                            startTs,
                            vJ / J_PER_WH,
                            d.violationJ / J_PER_WH
                        );
                    }
                }
            }
        }
        exposure = _flushDelivery(participant, d, exposure);

        for (uint256 c = 0; c < count; ++c) {
            Loaded memory l = loaded[c];
            if (!l.touched) continue;
            Status storage s = _status[l.id];
            exposure = _reexpose(exposure, l.terms.betaWadPerKwh, s.violationJ, l.violationJ);
            s.violationJ = SafeCast.toUint96(l.violationJ);
            s.totalJ = SafeCast.toUint96(l.totalJ);
        }
        uint256 last = readings[n - 1];
        uint40 lastEndTs = SafeCast.toUint40(
            uint256(PackedReading.intervalStartTs(last)) + PackedReading.durationS(last)
        );
        ps.exposureWad = SafeCast.toUint216(exposure);
        ps.lastReadingEndTs = lastEndTs;
        _prune(active, lastEndTs);
    }


    /// @dev Drop contracts whose validity ended at or before `lastEndTs`: no later reading can
    /// fall inside them, since Metering accepts readings in increasing time order only.
    function _prune(uint256[] storage active, uint40 lastEndTs) private {
        uint256 c = 0;
        while (c < active.length) {
            if (_terms[active[c]].validToTs <= lastEndTs) {
                active[c] = active[active.length - 1];
                active.pop();
            } else {
                ++c;
            }
        }
    }

    // ---------------------------------------------------------------- penalties

    /// @notice Pull the outstanding penalty of contract `id` (an import cap or a delivery) from
    /// the importer to the counterparty; counterparty only. Collects what the importer's balance
    /// and allowance to this contract permit; the rest stays outstanding.
    /// @param id The contract.
    /// @return amountUnits The amount moved [units].
    function collectPenalty(uint256 id) external returns (uint256 amountUnits) {
        ContractTerms memory t = contractTerms(id);
        if (msg.sender != t.counterparty) revert ImportCapNotCounterparty(id, msg.sender, t.counterparty);
        (uint256 violationJ, , uint256 paid) = _accumulators(id);
        uint256 due = CapMath.penaltyUnits(t.lambdaUnitsPerKwh, violationJ) - paid;
        if (due == 0) revert ImportCapNothingDue(id);
        uint256 balance = token.balanceOf(t.importer);
        uint256 allowance = token.allowance(t.importer, address(this));
        amountUnits = Math.min(due, Math.min(balance, allowance));
        if (amountUnits == 0) revert ImportCapNothingCollectible(id, due, balance, allowance);
        if (id & DELIVERY_FLAG != 0) {
            _addDeliveryPenaltyPaid(id, amountUnits);
        } else {
            _status[id].penaltyPaidUnits += SafeCast.toUint64(amountUnits);
        }
        emit PenaltyCollected(id, t.importer, t.counterparty, amountUnits, due - amountUnits);
        token.safeTransferFrom(t.importer, t.counterparty, amountUnits);
    }

    /// @notice Pay up to `maxUnits` of the outstanding penalty of `seller`'s delivery for market
    /// `interval` out of the proceeds the Market holds for it; Market only. The Market credits
    /// the amount to the treasury (the delivery's counterparty); recorded as paid here, so
    /// collectPenalty pulls only what the held proceeds did not cover.
    /// @param seller The delivery's seller.
    /// @param interval Market interval.
    /// @param maxUnits The proceeds held for the sell order [units].
    /// @return paidUnits min(outstanding penalty, maxUnits) [units].
    function chargeDeliveryPenalty(
        address seller,
        uint64 interval,
        uint256 maxUnits
    ) external onlyRole(GridRoles.MARKET) returns (uint256 paidUnits) {
        uint256 id = deliveryId(seller, interval);
        ContractTerms memory t = _deliveryTerms(id);
        (uint256 violationJ, , uint256 paid) = _deliveryAccumulators(id);
        uint256 due = CapMath.penaltyUnits(t.lambdaUnitsPerKwh, violationJ) - paid;
        paidUnits = Math.min(due, maxUnits);
        if (paidUnits == 0) return 0;
        _addDeliveryPenaltyPaid(id, paidUnits);
        emit PenaltyCollected(id, seller, t.counterparty, paidUnits, due - paidUnits);
    }

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 digest an importer signs to consent to `terms`.
    /// @param terms The contract terms.
    /// @return digest keccak256(0x1901 || domain separator || hashStruct(terms)).
    function termsDigest(ContractTerms calldata terms) public view returns (bytes32 digest) {
        return _hashTypedDataV4(keccak256(abi.encode(TERMS_TYPEHASH, terms)));
    }

    /// @inheritdoc IImportCap
    function contractCount() external view returns (uint256) {
        return _terms.length;
    }

    /// @inheritdoc IImportCap
    function contractTerms(uint256 id) public view returns (ContractTerms memory) {
        if (id & DELIVERY_FLAG == 0) return _existing(id);
        return _deliveryTerms(id);
    }

    /// @inheritdoc IImportCap
    function contractStatus(uint256 id)
        external
        view
        returns (uint256 violationWh, uint256 totalWh, uint256 complianceWad, uint256 penaltyUnits, uint256 trustWad)
    {
        ContractTerms memory t = contractTerms(id);
        (uint256 vJ, uint256 totJ, ) = _accumulators(id);
        violationWh = vJ / J_PER_WH;
        totalWh = totJ / J_PER_WH;
        complianceWad = CapMath.complianceWad(vJ, totJ);
        penaltyUnits = CapMath.penaltyUnits(t.lambdaUnitsPerKwh, vJ);
        trustWad = TrustMath.trustWad(TrustMath.exposureWad(t.betaWadPerKwh, vJ));
    }

    /// @notice Penalty collected so far for contract `id` [units].
    /// @param id The contract (an import cap or a delivery).
    function penaltyPaidUnits(uint256 id) external view returns (uint256 paid) {
        contractTerms(id);
        (, , paid) = _accumulators(id);
    }

    /// @notice Exact accumulators of contract `id` [J].
    /// @param id The contract (an import cap or a delivery).
    function accumulatorsJ(uint256 id) external view returns (uint256 violationJ, uint256 totalJ) {
        contractTerms(id);
        (violationJ, totalJ, ) = _accumulators(id);
    }

    /// @inheritdoc IImportCap
    function exposureOf(address participant) external view returns (uint256) {
        return _participants[participant].exposureWad;
    }

    /// @notice End of the last reading accounted for `participant` [unix s].
    /// @param participant The participant.
    function lastReadingEndOf(address participant) external view returns (uint256) {
        return _participants[participant].lastReadingEndTs;
    }

    /// @notice Ids of `participant`'s contracts that readings can still fall into.
    /// @param participant The importer.
    function activeContractsOf(address participant) external view returns (uint256[] memory) {
        return _active[participant];
    }

    function _existing(uint256 id) private view returns (ContractTerms storage) {
        if (id >= _terms.length) revert ImportCapUnknownContract(id);
        return _terms[id];
    }

    function _accumulators(uint256 id) private view returns (uint256 violationJ, uint256 totalJ, uint256 paid) {
        if (id & DELIVERY_FLAG != 0) return _deliveryAccumulators(id);
        Status storage s = _status[id];
        return (s.violationJ, s.totalJ, s.penaltyPaidUnits);
    }

}
