// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RegistryGated} from "./RegistryGated.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {TrustMath} from "./libraries/TrustMath.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IRegulation} from "./interfaces/IRegulation.sol";
import {PackedReading} from "./libraries/PackedReading.sol";
import {IMarketDeliveries} from "./interfaces/IMarket.sol";
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
contract ImportCap is RegistryGated, IImportCap {
    using SafeERC20 for IERC20;

    /// @notice Most contracts one participant may have active at once (bounds the per-reading loop).
    uint256 public constant MAX_ACTIVE_CONTRACTS = 16;
    uint256 private constant J_PER_WH = 3600;
    uint256 private constant SECONDS_PER_DAY = 86_400;
    uint256 private constant WAD = 1e18;
    uint256 private constant DELIVERY_FLAG = 1 << 255;
    /// @dev AccessControl's DEFAULT_ADMIN_ROLE in the Registry.
    bytes32 private constant DEFAULT_ADMIN_ROLE = 0x00;

    struct Status {
        uint96 violationJ;
        uint96 totalJ;
        uint64 penaltyPaidUnits;
    }

    struct ParticipantState {
        uint40 lastReadingEndTs;
        uint216 exposureWad;
    }

    /// @dev One slot per sell order, reserved at placement so clearing and settlement create none.
    struct Delivery {
        uint32 orderIndexPlusOne;
        uint64 violationJ;
        uint64 totalJ;
        uint96 penaltyPaidUnits;
    }

    /// @dev The Market and its interval grid, in one slot.
    struct MarketLink {
        IMarketDeliveries deliveries;
        uint64 epochStartTs;
        uint32 intervalLengthS;
    }

    /// @dev The delivery obligation of the batch's current market interval, in memory.
    struct DeliveryCursor {
        bool loaded;
        bool obligated;
        uint64 interval;
        int256 upperW;
        uint256 betaWadPerKwh;
        uint256 violationJ;
        uint256 totalJ;
        uint256 storedViolationJ;
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
    mapping(address seller => mapping(uint64 interval => Delivery)) private _deliveries;
    MarketLink private _link;

    /// @param registry_ Roles and participants. @param regulation_ Cap bounds and delivery terms.
    /// @param token_ Settlement token penalties are paid in.
    constructor(IRegistry registry_, IRegulation regulation_, IERC20 token_) RegistryGated(registry_) {
        regulation = regulation_;
        token = token_;
    }

    // ---------------------------------------------------------------- creation

    /// @notice Create an import-cap contract; operator only. Bounds must lie within Regulation's
    /// cap bounds.
    /// @param terms The contract terms (see ContractTerms; bounds [W], window [s of day, UTC],
    /// validity [unix s], lambda [units/kWh], beta [wad/kWh]).
    /// @return id The new contract's id.
    function createContract(ContractTerms calldata terms) external onlyRole(GridRoles.OPERATOR) returns (uint256 id) {
        int64 minCapW = regulation.minCapW();
        int64 maxCapW = regulation.maxCapW();
        if (terms.kind != BoundKind.Upper) _checkRegulated(terms.lowerW, minCapW, maxCapW);
        if (terms.kind != BoundKind.Lower) _checkRegulated(terms.upperW, minCapW, maxCapW);
        return _create(terms);
    }

    /// @notice Wire the Market whose cleared sells are audited here; once, by the Registry admin.
    /// @param market_ The Market contract (its interval grid is read once and kept).
    function setMarket(IMarketDeliveries market_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_link.deliveries) != address(0)) revert ImportCapMarketAlreadySet(address(_link.deliveries));
        _link = MarketLink({
            deliveries: market_,
            epochStartTs: market_.epochStartTs(),
            intervalLengthS: SafeCast.toUint32(market_.intervalLengthS())
        });
    }

    /// @notice Reserve `seller`'s delivery record for `interval` when it places its sell order;
    /// Market only. Returns the order index + 1 of an existing reservation (0 if reserved now).
    /// @param seller The seller. @param interval Market interval. @param orderIndex Its sell order.
    function reserveDelivery(
        address seller,
        uint64 interval,
        uint32 orderIndex
    ) external onlyRole(GridRoles.MARKET) returns (uint256 existingIndexPlusOne) {
        Delivery storage d = _deliveries[seller][interval];
        existingIndexPlusOne = d.orderIndexPlusOne;
        // orderIndex < MAX_ORDERS_PER_INTERVAL (4096), so the + 1 cannot overflow uint32.
        if (existingIndexPlusOne == 0) d.orderIndexPlusOne = orderIndex + 1;
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
        if (terms.windowStartS >= SECONDS_PER_DAY || terms.windowEndS >= SECONDS_PER_DAY) {
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
                if (!_applies(l.terms, startTs)) continue;
                uint256 vJ = _violationJ(l.terms, netJ, dtS);
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
                    uint256 vJ = _overJ(netJ, d.upperW, dtS);
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

    /// @dev Exposure is a sum of per-obligation floors: replace one obligation's term exactly.
    /// The new floor is never below the old one, since violation energy only grows.
    function _reexpose(uint256 exposure, uint256 beta, uint256 oldViolationJ, uint256 newViolationJ)
        private
        pure
        returns (uint256)
    {
        return exposure + TrustMath.exposureWad(beta, newViolationJ) - TrustMath.exposureWad(beta, oldViolationJ);
    }

    function _loadDelivery(address seller, uint64 interval, MarketLink memory link, DeliveryCursor memory d) private view {
        d.loaded = true;
        d.interval = interval;
        d.obligated = false;
        Delivery storage stored = _deliveries[seller][interval];
        uint256 indexPlusOne = stored.orderIndexPlusOne;
        if (indexPlusOne == 0) return;
        (uint256 filledWh, , uint256 beta) = link.deliveries.deliveryOf(interval, uint32(indexPlusOne - 1));
        if (filledWh == 0) return;
        d.obligated = true;
        d.upperW = -_requiredExportW(filledWh, link.intervalLengthS);
        d.betaWadPerKwh = beta;
        d.violationJ = stored.violationJ;
        d.totalJ = stored.totalJ;
        d.storedViolationJ = stored.violationJ;
    }

    function _flushDelivery(address seller, DeliveryCursor memory d, uint256 exposure) private returns (uint256) {
        if (!d.obligated) return exposure;
        Delivery storage stored = _deliveries[seller][d.interval];
        stored.violationJ = SafeCast.toUint64(d.violationJ);
        stored.totalJ = SafeCast.toUint64(d.totalJ);
        d.obligated = false;
        return _reexpose(exposure, d.betaWadPerKwh, d.storedViolationJ, d.violationJ);
    }

    /// @dev Average export power sold [W]: filledWh over the interval, rounded down in the
    /// seller's favour. filledWh < 2^40, so the result is far inside int64.
    function _requiredExportW(uint256 filledWh, uint256 intervalLengthS) private pure returns (int256) {
        return int256((filledWh * 3600) / intervalLengthS);
    }

    /// @dev Whether a reading starting at `startTs` falls in the contract's validity and daily window.
    function _applies(ContractTerms memory t, uint64 startTs) private pure returns (bool) {
        if (startTs < t.validFromTs || startTs >= t.validToTs) return false;
        uint256 tod = startTs % SECONDS_PER_DAY;
        uint256 ws = t.windowStartS;
        uint256 we = t.windowEndS;
        if (ws == we) return true;
        if (ws < we) return tod >= ws && tod < we;
        return tod >= ws || tod < we; // window wraps midnight
    }

    /// @dev Violation energy V dt [J] of one reading with net energy netJ [J] over dtS [s].
    function _violationJ(ContractTerms memory t, int256 netJ, uint256 dtS) private pure returns (uint256 vJ) {
        if (t.kind != BoundKind.Lower) vJ = _overJ(netJ, t.upperW, dtS);
        if (t.kind != BoundKind.Upper) vJ += _underJ(netJ, t.lowerW, dtS);
    }

    /// @dev max(0, netJ - boundW * dtS) [J].
    function _overJ(int256 netJ, int256 boundW, uint256 dtS) private pure returns (uint256) {
        // Cannot overflow: |netJ| < 2^76, |boundW| < 2^64 and dtS < 2^32, so every product and
        // difference stays below 2^97 in magnitude, far inside int256.
        unchecked {
            int256 over = netJ - boundW * int256(dtS);
            return over > 0 ? uint256(over) : 0;
        }
    }

    /// @dev max(0, boundW * dtS - netJ) [J].
    function _underJ(int256 netJ, int256 boundW, uint256 dtS) private pure returns (uint256) {
        // Cannot overflow: as in _overJ.
        unchecked {
            int256 under = boundW * int256(dtS) - netJ;
            return under > 0 ? uint256(under) : 0;
        }
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
    /// @param id The contract. @return amountUnits The amount moved [units].
    function collectPenalty(uint256 id) external returns (uint256 amountUnits) {
        ContractTerms memory t = contractTerms(id);
        if (msg.sender != t.counterparty) revert ImportCapNotCounterparty(id, msg.sender, t.counterparty);
        (uint256 violationJ, , uint256 paid) = _accumulators(id);
        uint256 due = _penaltyUnits(t.lambdaUnitsPerKwh, violationJ) - paid;
        if (due == 0) revert ImportCapNothingDue(id);
        uint256 balance = token.balanceOf(t.importer);
        uint256 allowance = token.allowance(t.importer, address(this));
        amountUnits = Math.min(due, Math.min(balance, allowance));
        if (amountUnits == 0) revert ImportCapNothingCollectible(id, due, balance, allowance);
        if (id & DELIVERY_FLAG != 0) {
            (address seller, uint64 interval) = _splitDeliveryId(id);
            _deliveries[seller][interval].penaltyPaidUnits += SafeCast.toUint96(amountUnits);
        } else {
            _status[id].penaltyPaidUnits += SafeCast.toUint64(amountUnits);
        }
        emit PenaltyCollected(id, t.importer, t.counterparty, amountUnits, due - amountUnits);
        token.safeTransferFrom(t.importer, t.counterparty, amountUnits);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IImportCap
    function contractCount() external view returns (uint256) {
        return _terms.length;
    }

    /// @inheritdoc IImportCap
    function contractTerms(uint256 id) public view returns (ContractTerms memory) {
        if (id & DELIVERY_FLAG == 0) return _existing(id);
        (address seller, uint64 interval) = _splitDeliveryId(id);
        Delivery storage d = _deliveries[seller][interval];
        MarketLink memory link = _link;
        if (d.orderIndexPlusOne == 0) revert ImportCapUnknownContract(id);
        (uint256 filledWh, uint256 penaltyPerKwh, uint256 beta) = link.deliveries.deliveryOf(
            interval,
            d.orderIndexPlusOne - 1
        );
        uint256 fromTs = uint256(link.epochStartTs) + uint256(interval) * link.intervalLengthS;
        return
            ContractTerms({
                importer: seller,
                kind: BoundKind.Upper,
                windowStartS: 0,
                windowEndS: 0,
                counterparty: link.deliveries.treasury(),
                validFromTs: SafeCast.toUint40(fromTs),
                validToTs: SafeCast.toUint40(fromTs + link.intervalLengthS),
                lowerW: 0,
                upperW: int64(-_requiredExportW(filledWh, link.intervalLengthS)),
                lambdaUnitsPerKwh: uint64(penaltyPerKwh),
                betaWadPerKwh: uint64(beta)
            });
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
        if (totJ == 0) {
            complianceWad = vJ == 0 ? WAD : 0;
        } else if (vJ >= totJ) {
            complianceWad = 0;
        } else {
            complianceWad = Math.mulDiv(totJ - vJ, WAD, totJ);
        }
        penaltyUnits = _penaltyUnits(t.lambdaUnitsPerKwh, vJ);
        trustWad = TrustMath.trustWad(TrustMath.exposureWad(t.betaWadPerKwh, vJ));
    }

    /// @notice Penalty collected so far for contract `id` [units].
    function penaltyPaidUnits(uint256 id) external view returns (uint256 paid) {
        contractTerms(id);
        (, , paid) = _accumulators(id);
    }

    /// @notice Exact accumulators of contract `id` [J].
    function accumulatorsJ(uint256 id) external view returns (uint256 violationJ, uint256 totalJ) {
        contractTerms(id);
        (violationJ, totalJ, ) = _accumulators(id);
    }

    /// @notice The id of `seller`'s delivery obligation for market `interval`.
    function deliveryId(address seller, uint64 interval) public pure returns (uint256) {
        return DELIVERY_FLAG | (uint256(interval) << 160) | uint256(uint160(seller));
    }

    /// @notice The Market whose deliveries are audited here (zero until wired).
    function market() external view returns (address) {
        return address(_link.deliveries);
    }

    /// @inheritdoc IImportCap
    function exposureOf(address participant) external view returns (uint256) {
        return _participants[participant].exposureWad;
    }

    /// @notice End of the last reading accounted for `participant` [unix s].
    function lastReadingEndOf(address participant) external view returns (uint256) {
        return _participants[participant].lastReadingEndTs;
    }

    /// @notice Ids of `participant`'s contracts that readings can still fall into.
    function activeContractsOf(address participant) external view returns (uint256[] memory) {
        return _active[participant];
    }

    function _existing(uint256 id) private view returns (ContractTerms storage) {
        if (id >= _terms.length) revert ImportCapUnknownContract(id);
        return _terms[id];
    }

    function _accumulators(uint256 id) private view returns (uint256 violationJ, uint256 totalJ, uint256 paid) {
        if (id & DELIVERY_FLAG != 0) {
            (address seller, uint64 interval) = _splitDeliveryId(id);
            Delivery storage d = _deliveries[seller][interval];
            return (d.violationJ, d.totalJ, d.penaltyPaidUnits);
        }
        Status storage s = _status[id];
        return (s.violationJ, s.totalJ, s.penaltyPaidUnits);
    }

    function _splitDeliveryId(uint256 id) private pure returns (address seller, uint64 interval) {
        if ((id >> 224) != (DELIVERY_FLAG >> 224)) revert ImportCapUnknownContract(id);
        return (address(uint160(id)), uint64(id >> 160));
    }

    function _penaltyUnits(uint256 lambdaUnitsPerKwh, uint256 violationJ) private pure returns (uint256) {
        return Math.mulDiv(lambdaUnitsPerKwh, violationJ, TrustMath.J_PER_KWH);
    }
}
