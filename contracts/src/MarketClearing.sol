// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {RegistryGated} from "./RegistryGated.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IRegulation} from "./interfaces/IRegulation.sol";
import {IMarketErrors, Phase, Side} from "./interfaces/IMarket.sol";

/// @title MarketClearing
/// @notice The order book and its witness-verified clearing, per interval.
///
/// Clearing rule. Buys are ranked by (limit price descending, order index ascending), sells by
/// (limit price ascending, index ascending). Walking both rankings unit by unit, b(v) and s(v)
/// are the limit prices of the buy and sell orders holding the v-th Wh. The cleared volume is
/// V = max{v : b(v) >= s(v)} (0 if no unit crosses). Orders ahead of the marginal ones fill
/// fully, the marginal buy and sell orders fill partially up to V, the rest not at all. One
/// uniform price: the midpoint (b(V) + s(V)) / 2 rounded down (k = 0.5 at the marginal pair),
/// clamped to Regulation's [floor, ceiling] and then to [s(V), b(V)] so no order trades past its
/// limit. Buyers pay ceil(fill * price / 1000), sellers receive floor(fill * price / 1000) minus
/// floor(fill * charge / 1000); the rounding dust and charges go to the treasury.
///
/// Verification. The operator clears, between gate closure and the interval's start: they claim V,
/// then submit the ranking as a witness, in as many chunks per side as they like. The contract
/// checks in O(n) that the witness is a permutation of the interval's orders in ranking order,
/// locates the marginal orders at V while streaming, and at finalization checks b(V) >= s(V)
/// and b(V+) < s(V+). An interval not cleared by its start can be voided: nothing trades.
abstract contract MarketClearing is Pausable, RegistryGated, IMarketErrors {
    /// @notice Most orders in one interval (bounds the witness bitmap to 16 words).
    uint256 public constant MAX_ORDERS_PER_INTERVAL = 4096;
    /// @notice After this long an unfinished clearing may be aborted by anyone [s].
    uint256 public constant CLEARING_TIMEOUT_S = 600;

    /// @dev One storage slot; escrow is derived: ceil(quantityWh * limitPricePerKwh / 1000).
    struct Order {
        address owner;
        Side side;
        uint40 quantityWh;
        uint40 limitPricePerKwh;
    }

    struct Book {
        uint32 buyCount;
        uint32 sellCount;
        uint32 settledCount;
        int128 poolUnits;
    }

    /// @dev Streaming state of one side of a witness.
    struct Stream {
        uint32 seen;
        uint32 lastIndex;
        uint40 lastPrice;
        uint64 cumWh;
        bool hasMarginal;
        uint32 marginalIndex;
        uint40 marginalPrice;
        uint64 marginalFillWh;
        bool hasNext;
        uint40 nextPrice;
    }

    struct Clearing {
        address clearer;
        uint40 startedAtTs;
        uint32 epoch;
        bool active;
        uint64 claimedVolumeWh;
        Stream buys;
        Stream sells;
    }

    /// @notice The outcome of a cleared (or voided) interval.
    struct Result {
        bool cleared;
        uint40 priceUnitsPerKwh;
        uint64 volumeWh;
        uint40 networkChargePerKwh;
        uint32 marginalBuyIndex;
        uint40 marginalBuyPrice;
        uint64 marginalBuyFillWh;
        uint32 marginalSellIndex;
        uint40 marginalSellPrice;
        uint64 marginalSellFillWh;
        uint64 deliveryPenaltyPerKwh;
        uint64 deliveryBetaWadPerKwh;
    }

    /// @notice `clearer` began clearing `interval`, claiming a volume [Wh].
    event ClearingStarted(uint64 indexed interval, address indexed clearer, uint256 claimedVolumeWh);
    /// @notice A clearing of `interval` in progress was aborted.
    event ClearingAborted(uint64 indexed interval, address indexed by);
    /// @notice `interval` cleared at one price [units/kWh] and volume [Wh].
    event IntervalCleared(uint64 indexed interval, uint256 priceUnitsPerKwh, uint256 volumeWh);
    /// @notice `interval` was not cleared before its start and was voided: nothing trades.
    event IntervalVoided(uint64 indexed interval, address indexed by);
    IRegulation public immutable regulation;
    /// @notice Start of interval 0 [unix s].
    uint64 public immutable epochStartTs;
    /// @notice Length of one interval [s].
    uint64 public immutable intervalLengthS;
    /// @notice Orders close this long before their interval starts [s].
    uint64 public immutable gateClosureLeadS;

    mapping(uint64 interval => Order[]) internal _orders;
    mapping(uint64 interval => Book) internal _books;
    mapping(uint64 interval => Clearing) private _clearings;
    mapping(uint64 interval => Result) internal _results;
    mapping(uint64 interval => mapping(uint32 epoch => uint256[16] bits)) private _seen;
    constructor(
        IRegistry registry_,
        IRegulation regulation_,
        uint64 epochStartTs_,
        uint64 intervalLengthS_,
        uint64 gateClosureLeadS_
    ) RegistryGated(registry_) {
        regulation = regulation_;
        epochStartTs = epochStartTs_;
        intervalLengthS = intervalLengthS_;
        gateClosureLeadS = gateClosureLeadS_;
    }

    // ---------------------------------------------------------------- clearing

    /// @notice Clear `interval` in one transaction: claim, both witnesses, finalize.
    /// @param interval The interval (its gate must have closed, its delivery not started).
    /// @param claimedVolumeWh The cleared volume V the witness supports [Wh].
    /// @param buyRanking Indices of all buy orders in ranking order.
    /// @param sellRanking Indices of all sell orders in ranking order.
    function clear(
        uint64 interval,
        uint64 claimedVolumeWh,
        uint32[] calldata buyRanking,
        uint32[] calldata sellRanking
    ) external whenNotPaused {
        beginClearing(interval, claimedVolumeWh);
        submitWitness(interval, Side.Buy, buyRanking);
        submitWitness(interval, Side.Sell, sellRanking);
        finalizeClearing(interval);
    }

    /// @notice Start clearing `interval` with a claimed volume; operator only (a stranger could
    /// otherwise start clearings, let them go stale and so delay the interval until it is void).
    /// The caller becomes its clearer.
    /// @param interval The interval.
    /// @param claimedVolumeWh Claimed cleared volume V [Wh].
    function beginClearing(uint64 interval, uint64 claimedVolumeWh) public whenNotPaused onlyRole(GridRoles.OPERATOR) {
        Phase phase = phaseOf(interval);
        if (phase != Phase.GateClosed) revert MarketUnexpectedPhase(interval, phase);
        _checkBeforeDelivery(interval);
        Clearing storage c = _clearings[interval];
        uint32 epoch = c.epoch + 1;
        delete _clearings[interval];
        c.clearer = msg.sender;
        c.startedAtTs = uint40(block.timestamp);
        c.epoch = epoch;
        c.active = true;
        c.claimedVolumeWh = claimedVolumeWh;
        emit ClearingStarted(interval, msg.sender, claimedVolumeWh);
    }

    /// @notice Submit the next chunk of one side's ranking; the clearer only.
    /// @param interval The interval being cleared.
    /// @param side Which ranking the chunk continues.
    /// @param ranking Order indices, continuing the ranking submitted so far for `side`.
    function submitWitness(uint64 interval, Side side, uint32[] calldata ranking) public {
        Clearing storage c = _clearerOnly(interval);
        Stream memory st = side == Side.Buy ? c.buys : c.sells;
        uint256[16] storage seenBits = _seen[interval][c.epoch];
        uint256[16] memory seen = seenBits;
        _walk(st, seen, interval, side, c.claimedVolumeWh, ranking);
        for (uint256 w = 0; w < 16; ++w) {
            if (seen[w] != seenBits[w]) seenBits[w] = seen[w];
        }
        if (side == Side.Buy) {
            c.buys = st;
        } else {
            c.sells = st;
        }
    }

    /// @notice Check the complete witness against the claimed volume and fix the price; the
    /// clearer only, before the interval's delivery starts. Reverts if the witness is
    /// incomplete or the claim is not the crossing.
    /// @param interval The interval being cleared.
    function finalizeClearing(uint64 interval) public {
        Clearing storage c = _clearerOnly(interval);
        _checkBeforeDelivery(interval);
        Book storage book = _books[interval];
        Stream memory b = c.buys;
        Stream memory s = c.sells;
        if (b.seen != book.buyCount || s.seen != book.sellCount) {
            revert MarketWitnessIncomplete(interval, b.seen, book.buyCount, s.seen, book.sellCount);
        }
        uint64 volume = c.claimedVolumeWh;
        if (volume > b.cumWh || volume > s.cumWh) revert MarketVolumeInfeasible(interval, volume, b.cumWh, s.cumWh);
        if (volume != 0 && b.marginalPrice < s.marginalPrice) {
            revert MarketWitnessNotCrossing(interval, volume, b.marginalPrice, s.marginalPrice);
        }
        if (b.hasNext && s.hasNext && b.nextPrice >= s.nextPrice) {
            revert MarketVolumeNotMaximal(interval, volume, b.nextPrice, s.nextPrice);
        }
        uint256 price = 0;
        if (volume != 0) {
            price = (uint256(b.marginalPrice) + s.marginalPrice) / 2;
            price = Math.max(price, regulation.priceFloorPerKwh());
            price = Math.min(price, regulation.priceCeilingPerKwh());
            price = Math.max(price, s.marginalPrice);
            price = Math.min(price, b.marginalPrice);
        }
        c.active = false;
        _results[interval] = Result({
            cleared: true,
            priceUnitsPerKwh: uint40(price), // price lies between two uint40 limits
            volumeWh: volume,
            networkChargePerKwh: uint40(Math.min(regulation.networkChargePerKwh(), price)),
            marginalBuyIndex: b.marginalIndex,
            marginalBuyPrice: b.marginalPrice,
            marginalBuyFillWh: b.marginalFillWh,
            marginalSellIndex: s.marginalIndex,
            marginalSellPrice: s.marginalPrice,
            marginalSellFillWh: s.marginalFillWh,
            deliveryPenaltyPerKwh: regulation.deliveryPenaltyPerKwh(),
            deliveryBetaWadPerKwh: regulation.deliveryBetaWadPerKwh()
        });
        emit IntervalCleared(interval, price, volume);
    }

    /// @notice Abandon an unfinished clearing so it can start again: by its clearer or the
    /// operator at any time, by anyone after CLEARING_TIMEOUT_S.
    /// @param interval The interval being cleared.
    function abortClearing(uint64 interval) external {
        Clearing storage c = _clearings[interval];
        if (!c.active) revert MarketUnexpectedPhase(interval, phaseOf(interval));
        bool privileged = msg.sender == c.clearer || registry.hasRole(GridRoles.OPERATOR, msg.sender);
        if (!privileged && block.timestamp < uint256(c.startedAtTs) + CLEARING_TIMEOUT_S) {
            revert MarketClearingNotStale(interval, c.startedAtTs, CLEARING_TIMEOUT_S);
        }
        c.active = false;
        emit ClearingAborted(interval, msg.sender);
    }

    /// @notice Void an interval whose delivery started before it was cleared (anyone): nothing
    /// trades, every buyer gets its escrow back at settlement, no delivery is owed.
    /// @param interval The interval.
    function voidInterval(uint64 interval) external {
        Phase phase = phaseOf(interval);
        if (phase != Phase.GateClosed && phase != Phase.Clearing) revert MarketUnexpectedPhase(interval, phase);
        uint256 startTs = intervalStartTs(interval);
        if (block.timestamp < startTs) revert MarketDeliveryNotStarted(interval, startTs);
        _clearings[interval].active = false;
        Result storage r = _results[interval];
        r.cleared = true;
        emit IntervalVoided(interval, msg.sender);
        emit IntervalCleared(interval, 0, 0);
    }

    // ---------------------------------------------------------------- views

    /// @notice Phase of `interval` now.
    /// @param interval Market interval.
    function phaseOf(uint64 interval) public view returns (Phase) {
        if (_results[interval].cleared) return Phase.Cleared;
        if (_clearings[interval].active) return Phase.Clearing;
        if (block.timestamp >= gateClosureTs(interval)) return Phase.GateClosed;
        return Phase.Open;
    }

    /// @notice Start of `interval` [unix s].
    /// @param interval Market interval.
    function intervalStartTs(uint64 interval) public view returns (uint256) {
        return uint256(epochStartTs) + uint256(interval) * intervalLengthS;
    }

    /// @notice When orders for `interval` stop being accepted [unix s].
    /// @param interval Market interval.
    function gateClosureTs(uint64 interval) public view returns (uint256) {
        uint256 start = intervalStartTs(interval);
        return start > gateClosureLeadS ? start - gateClosureLeadS : 0;
    }

    /// @notice The interval containing `ts` [unix s] (0 before the epoch).
    /// @param ts Time [unix s].
    function intervalAt(uint256 ts) external view returns (uint64) {
        if (ts < epochStartTs) return 0;
        return uint64((ts - epochStartTs) / intervalLengthS);
    }

    /// @notice The clearing result of `interval` (all zero before clearing).
    /// @param interval Market interval.
    function resultOf(uint64 interval) external view returns (Result memory) {
        return _results[interval];
    }

    // ---------------------------------------------------------------- internals

    function _checkBeforeDelivery(uint64 interval) internal view {
        uint256 startTs = intervalStartTs(interval);
        if (block.timestamp >= startTs) revert MarketDeliveryStarted(interval, startTs);
    }

    function _clearerOnly(uint64 interval) internal view returns (Clearing storage c) {
        c = _clearings[interval];
        if (!c.active) revert MarketUnexpectedPhase(interval, phaseOf(interval));
        if (msg.sender != c.clearer) revert MarketNotClearer(interval, msg.sender, c.clearer);
    }

    /// @dev Stream `ranking` through `st`, marking each index in the `seen` bitmap.
    function _walk(
        Stream memory st,
        uint256[16] memory seen,
        uint64 interval,
        Side side,
        uint64 claimed,
        uint32[] calldata ranking
    ) private view {
        Order[] storage orders = _orders[interval];
        uint256 count = orders.length;
        for (uint256 k = 0; k < ranking.length; ++k) {
            uint32 index = ranking[k];
            if (index >= count) revert MarketWitnessIndexOutOfRange(interval, index, count);
            Order memory o = orders[index];
            if (o.side != side) revert MarketWitnessWrongSide(interval, index, side);
            uint256 mask = 1 << (index & 255);
            if (seen[index >> 8] & mask != 0) revert MarketWitnessDuplicate(interval, index);
            seen[index >> 8] |= mask;
            _advance(st, interval, side, claimed, o.limitPricePerKwh, o.quantityWh, index);
        }
    }

    /// @dev Advance one side's witness stream by order (price, quantityWh, index): check the
    /// ranking, and note the orders holding the claimed V-th Wh (marginal) and the next Wh.
    function _advance(
        Stream memory st,
        uint64 interval,
        Side side,
        uint64 claimed,
        uint40 price,
        uint40 quantityWh,
        uint32 index
    ) private pure {
        if (st.seen != 0 && !_ranksAfter(side, st.lastPrice, st.lastIndex, price, index)) {
            revert MarketWitnessNotSorted(interval, st.lastIndex, index);
        }
        uint64 cumBefore = st.cumWh;
        uint64 cumAfter = cumBefore + quantityWh;
        if (cumBefore < claimed && claimed <= cumAfter) {
            st.hasMarginal = true;
            st.marginalIndex = index;
            st.marginalPrice = price;
            st.marginalFillWh = claimed - cumBefore;
        }
        if (!st.hasNext && cumBefore <= claimed && claimed < cumAfter) {
            st.hasNext = true;
            st.nextPrice = price;
        }
        st.cumWh = cumAfter;
        st.lastPrice = price;
        st.lastIndex = index;
        ++st.seen;
    }

    /// @dev Whether order (price, index) ranks strictly after (lastPrice, lastIndex) on `side`.
    function _ranksAfter(
        Side side,
        uint40 lastPrice,
        uint32 lastIndex,
        uint40 price,
        uint32 index
    ) private pure returns (bool) {
        if (price == lastPrice) return index > lastIndex;
        return side == Side.Buy ? price < lastPrice : price > lastPrice;
    }

    function _fillOf(Result memory r, Order memory o, uint32 index) internal pure returns (uint256) {
        if (r.volumeWh == 0) return 0;
        uint40 price = o.limitPricePerKwh;
        if (o.side == Side.Buy) {
            if (index == r.marginalBuyIndex) return r.marginalBuyFillWh;
            bool ahead = price > r.marginalBuyPrice || (price == r.marginalBuyPrice && index < r.marginalBuyIndex);
            return ahead ? o.quantityWh : 0;
        }
        if (index == r.marginalSellIndex) return r.marginalSellFillWh;
        bool aheadSell = price < r.marginalSellPrice || (price == r.marginalSellPrice && index < r.marginalSellIndex);
        return aheadSell ? o.quantityWh : 0;
    }

    function _splitOrderId(uint256 orderId) internal pure returns (uint64 interval, uint32 index) {
        if (orderId >> 96 != 0) revert MarketUnknownOrder(orderId);
        return (uint64(orderId >> 32), uint32(orderId));
    }
}
