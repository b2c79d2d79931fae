// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IRegulation} from "./interfaces/IRegulation.sol";
import {Phase, Side} from "./interfaces/IMarket.sol";
import {MarketClearing} from "./MarketClearing.sol";

interface IDeliveryLedger {
    /// @dev Reserve `seller`'s delivery record for `interval`; returns the order index + 1 of an
    /// earlier reservation (0 if this one was made).
    /// @notice Reserve a seller's delivery record (ImportCap.reserveDelivery).
    /// @param seller The seller.
    /// @param interval Market interval.
    /// @param orderIndex Its sell order's index.
    function reserveDelivery(address seller, uint64 interval, uint32 orderIndex) external returns (uint256);

    /// @dev End of the last reading accounted for `participant` [unix s].
    /// @notice End of a participant's last accounted reading (ImportCap).
    /// @param participant The participant.
    function lastReadingEndOf(address participant) external view returns (uint256);

    /// @dev Pay up to `maxUnits` of the outstanding penalty of `seller`'s delivery for `interval`
    /// from its held proceeds; returns the amount recorded as paid [units].
    /// @notice Pay a delivery's penalty from held proceeds (ImportCap.chargeDeliveryPenalty).
    /// @param seller The seller.
    /// @param interval Market interval.
    /// @param maxUnits Held proceeds [units].
    function chargeDeliveryPenalty(address seller, uint64 interval, uint256 maxUnits) external returns (uint256);
}

interface ITrustReader {
    /// @notice Trust of `participant` [wad] (Trust.trustOf).
    /// @param participant The participant.
    function trustOf(address participant) external view returns (uint256);
}

/// @title Market
/// @notice Periodic double auction, one per interval of `intervalLengthS`: orders with escrow,
/// witness-verified clearing (MarketClearing), batched settlement and pulled payouts.
///
/// Settlement and delivery. Orders are settled in batches by anyone: buyers are credited escrow
/// minus cost; a filled seller's proceeds (minus the network charge) are held per order as
/// collateral until its delivery is metered, then released by anyone (release()): the delivery
/// penalty is paid from them first, the rest goes to the seller. Credits are pulled with
/// withdraw(). Each sell order
/// reserves its delivery record in ImportCap when placed; once cleared, its fill is a delivery
/// obligation that ImportCap audits against the seller's meter like an import cap (an Upper
/// bound of minus the sold average power over the interval), with the penalty and beta that
/// Regulation set when the interval cleared.
contract Market is MarketClearing {
    using SafeERC20 for IERC20;

    /// @notice Most orders settled in one call.
    uint256 public constant MAX_SETTLE_BATCH = 512;
    /// @notice A seller's proceeds are released without its meter's readings once this long has
    /// passed after its interval's end; they then go to the treasury (delivery unproven) [s].
    uint256 public constant RELEASE_GRACE_S = 1 days;
    uint256 private constant WH_PER_KWH = 1000;

    /// @notice An order was placed (quantity [Wh], limit [units/kWh]).
    event OrderPlaced(
        uint64 indexed interval,
        uint256 indexed orderId,
        address indexed owner,
        Side side,
        uint256 quantityWh,
        uint256 limitPricePerKwh
    );
    /// @notice An order was settled: its fill [Wh] and what its owner was credited [units].
    event OrderSettled(
        uint256 indexed orderId,
        address indexed owner,
        Side side,
        uint256 filledWh,
        uint256 creditedUnits
    );
    /// @notice The interval's last order settled; its rounding dust went to the treasury [units].
    event IntervalSettled(uint64 indexed interval, uint256 dustUnits);
    /// @notice A filled sell's net proceeds are held until its delivery is metered.
    event ProceedsHeld(uint256 indexed orderId, address indexed seller, uint256 heldUnits);
    /// @notice Held proceeds were paid out: `sellerUnits` credited to the seller, `treasuryUnits`
    /// to the treasury (the delivery penalty if `metered`, everything if the grace period ran out).
    event ProceedsReleased(
        uint256 indexed orderId,
        address indexed seller,
        uint256 sellerUnits,
        uint256 treasuryUnits,
        bool metered
    );
    /// @notice `account` withdrew its credits [units].
    event Withdrawn(address indexed account, uint256 amountUnits);

    IERC20 public immutable token;
    IDeliveryLedger public immutable importCap;
    ITrustReader public immutable trust;
    /// @notice Receives network charges, rounding dust and delivery penalties.
    address public immutable treasury;

    mapping(uint64 interval => uint256[16] bits) private _settled;
    mapping(uint64 interval => uint256[16] bits) private _released;
    /// @dev Credit + 1 once an account was ever credited: the slot never returns to zero, so
    /// later credits cost a warm update instead of a fresh slot.
    mapping(address account => uint256 unitsPlusOne) private _claimable;

    /// @param registry_ Roles and participants.
    /// @param regulation_ Price band, charge, min trust.
    /// @param token_ Settlement token.
    /// @param importCap_ Where delivery records are reserved.
    /// @param trust_ Trust reader.
    /// @param treasury_ Charges, dust and penalties recipient.
    /// @param epochStartTs_ Start of interval 0 [unix s].
    /// @param intervalLengthS_ Interval length [s].
    /// @param gateClosureLeadS_ Gate closure before each interval's start [s].
    constructor(
        IRegistry registry_,
        IRegulation regulation_,
        IERC20 token_,
        IDeliveryLedger importCap_,
        ITrustReader trust_,
        address treasury_,
        uint64 epochStartTs_,
        uint64 intervalLengthS_,
        uint64 gateClosureLeadS_
    ) MarketClearing(registry_, regulation_, epochStartTs_, intervalLengthS_, gateClosureLeadS_) {
        token = token_;
        importCap = importCap_;
        trust = trust_;
        treasury = treasury_;
    }

    // ---------------------------------------------------------------- orders

    /// @notice Place an order for `interval`; admitted participants with enough trust only.
    /// A buy escrows ceil(quantityWh * limitPricePerKwh / 1000) units (approve this contract
    /// first). A participant may hold one sell order per interval (its delivery record).
    /// @param interval Market interval index.
    /// @param side Buy or Sell.
    /// @param quantityWh Energy [Wh].
    /// @param limitPricePerKwh Limit [units/kWh], inside the band.
    /// @return orderId (interval << 32) | index within the interval.
    function placeOrder(
        uint64 interval,
        Side side,
        uint40 quantityWh,
        uint40 limitPricePerKwh
    ) external whenNotPaused returns (uint256 orderId) {
        _checkOrderAllowed(interval, quantityWh, limitPricePerKwh);
        Order[] storage orders = _orders[interval];
        uint256 index = orders.length;
        if (index >= MAX_ORDERS_PER_INTERVAL) revert MarketIntervalFull(interval, MAX_ORDERS_PER_INTERVAL);
        orderId = (uint256(interval) << 32) | index;
        Book storage book = _books[interval];
        if (side == Side.Sell) {
            uint256 existing = importCap.reserveDelivery(msg.sender, interval, uint32(index));
            if (existing != 0) revert MarketDuplicateSell(interval, msg.sender, (uint256(interval) << 32) | (existing - 1));
            ++book.sellCount;
        } else {
            ++book.buyCount;
        }
        orders.push(Order({owner: msg.sender, side: side, quantityWh: quantityWh, limitPricePerKwh: limitPricePerKwh}));
        emit OrderPlaced(interval, orderId, msg.sender, side, quantityWh, limitPricePerKwh);
        if (side == Side.Buy) {
            token.safeTransferFrom(msg.sender, address(this), _escrowUnits(quantityWh, limitPricePerKwh));
        }
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Settle orders of cleared intervals (anyone may call): credit each buyer its
    /// escrow minus cost; hold each filled seller's proceeds minus the network charge until
    /// release().
    /// @param orderIds Up to MAX_SETTLE_BATCH order ids, from any cleared intervals.
    function settleOrders(uint256[] calldata orderIds) external {
        uint256 n = orderIds.length;
        if (n == 0 || n > MAX_SETTLE_BATCH) revert MarketBatchSize(n, MAX_SETTLE_BATCH);
        uint64 interval = 0;
        Result memory r;
        uint256 treasuryCredit = 0;
        for (uint256 k = 0; k < n; ++k) {
            uint256 orderId = orderIds[k];
            (uint64 orderInterval, uint32 index) = _splitOrderId(orderId);
            // The first order always loads its interval's result: no interval index (not even
            // 2^64 - 1) can stand for "none loaded yet" and skip the cleared check.
            if (k == 0 || orderInterval != interval) {
                interval = orderInterval;
                r = _results[interval];
                if (!r.cleared) revert MarketUnexpectedPhase(interval, phaseOf(interval));
            }
            treasuryCredit += _settleOne(interval, index, orderId, r);
        }
        if (treasuryCredit != 0) _credit(treasury, treasuryCredit);
    }

    /// @dev Settle one order; returns what it owes the treasury (network charge, and the
    /// interval's rounding dust when this was its last unsettled order).
    function _settleOne(uint64 interval, uint32 index, uint256 orderId, Result memory r) private returns (uint256 toTreasury) {
        Order[] storage orders = _orders[interval];
        if (index >= orders.length) revert MarketUnknownOrder(orderId);
        uint256[16] storage settledBits = _settled[interval];
        uint256 mask = 1 << (index & 255);
        uint256 word = settledBits[index >> 8];
        if (word & mask != 0) revert MarketOrderAlreadySettled(orderId);
        settledBits[index >> 8] = word | mask;

        Order memory o = orders[index];
        uint256 filledWh = _fillOf(r, o, index);
        Book storage book = _books[interval];
        uint256 credited;
        if (o.side == Side.Buy) {
            uint256 cost = Math.mulDiv(filledWh, r.priceUnitsPerKwh, WH_PER_KWH, Math.Rounding.Ceil);
            // cost <= escrow: the price is at most the buyer's limit, the fill at most its quantity.
            credited = _escrowUnits(o.quantityWh, o.limitPricePerKwh) - cost;
            book.poolUnits += int128(int256(cost));
        } else {
            uint256 gross = (filledWh * r.priceUnitsPerKwh) / WH_PER_KWH;
            toTreasury = (filledWh * r.networkChargePerKwh) / WH_PER_KWH;
            book.poolUnits -= int128(int256(gross));
        }
        if (credited != 0) _credit(o.owner, credited);
        emit OrderSettled(orderId, o.owner, o.side, filledWh, credited);
        // The held amount is derived (_heldUnits), never stored: settlement creates no slot.
        if (o.side == Side.Sell && filledWh != 0) emit ProceedsHeld(orderId, o.owner, _heldUnits(r, filledWh));
        if (++book.settledCount == orders.length) {
            // Buyers pay rounded up, sellers are paid rounded down: the pool ends >= 0.
            uint256 dust = uint256(int256(book.poolUnits));
            book.poolUnits = 0;
            toTreasury += dust;
            emit IntervalSettled(interval, dust);
        }
    }

    /// @notice Release the held proceeds of settled, filled sell orders (anyone may call). An
    /// order is releasable once its seller's readings accounted by ImportCap reach its
    /// interval's end: the outstanding delivery penalty (lambda * shortfall, ImportCap's
    /// accounting) is paid from the held units to the treasury first, the rest is credited to the
    /// seller. Without such readings by interval end + RELEASE_GRACE_S, everything held goes to
    /// the treasury. Each order is released once.
    /// @param orderIds Up to MAX_SETTLE_BATCH sell order ids.
    function release(uint256[] calldata orderIds) external {
        uint256 n = orderIds.length;
        if (n == 0 || n > MAX_SETTLE_BATCH) revert MarketBatchSize(n, MAX_SETTLE_BATCH);
        uint256 treasuryCredit = 0;
        for (uint256 k = 0; k < n; ++k) {
            treasuryCredit += _releaseOne(orderIds[k]);
        }
        if (treasuryCredit != 0) _credit(treasury, treasuryCredit);
    }

    /// @dev Release one order's held proceeds; returns what goes to the treasury.
    function _releaseOne(uint256 orderId) private returns (uint256 toTreasury) {
        (uint64 interval, uint32 index) = _splitOrderId(orderId);
        Order memory o = _existingOrder(interval, index, orderId);
        uint256 mask = 1 << (index & 255);
        if (_settled[interval][index >> 8] & mask == 0) revert MarketOrderNotSettled(orderId);
        Result memory r = _results[interval];
        uint256 filledWh = _fillOf(r, o, index);
        if (o.side != Side.Sell || filledWh == 0) revert MarketNoProceedsHeld(orderId);
        uint256[16] storage releasedBits = _released[interval];
        uint256 word = releasedBits[index >> 8];
        if (word & mask != 0) revert MarketProceedsAlreadyReleased(orderId);

        uint256 intervalEndTs = uint256(epochStartTs) + (uint256(interval) + 1) * intervalLengthS;
        uint256 lastEndTs = importCap.lastReadingEndOf(o.owner);
        bool metered = lastEndTs >= intervalEndTs;
        if (!metered && block.timestamp < intervalEndTs + RELEASE_GRACE_S) {
            revert MarketDeliveryNotMetered(orderId, lastEndTs, intervalEndTs, intervalEndTs + RELEASE_GRACE_S);
        }
        releasedBits[index >> 8] = word | mask;
        uint256 held = _heldUnits(r, filledWh);
        // Metered: the delivery accumulators are final (readings only move forward in time), and
        // ImportCap records the penalty paid here so collectPenalty pulls only the rest.
        toTreasury = metered ? importCap.chargeDeliveryPenalty(o.owner, interval, held) : held;
        uint256 toSeller = held - toTreasury; // chargeDeliveryPenalty pays at most `held`
        if (toSeller != 0) _credit(o.owner, toSeller);
        emit ProceedsReleased(orderId, o.owner, toSeller, toTreasury, metered);
    }

    /// @notice Transfer everything credited to the caller [units].
    function withdraw() external returns (uint256 amountUnits) {
        uint256 stored = _claimable[msg.sender];
        amountUnits = stored == 0 ? 0 : stored - 1;
        if (amountUnits == 0) revert MarketNothingToWithdraw(msg.sender);
        _claimable[msg.sender] = 1;
        emit Withdrawn(msg.sender, amountUnits);
        token.safeTransfer(msg.sender, amountUnits);
    }

    /// @notice Stop orders and clearing; operator only.
    function pause() external onlyRole(GridRoles.OPERATOR) {
        _pause();
    }

    /// @notice Resume orders and clearing; operator only.
    function unpause() external onlyRole(GridRoles.OPERATOR) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @notice Number of orders placed for `interval`.
    /// @param interval Market interval.
    function orderCount(uint64 interval) external view returns (uint256) {
        return _orders[interval].length;
    }

    /// @notice Order `orderId` as stored.
    /// @param orderId (interval << 32) | index.
    function orderOf(uint256 orderId) external view returns (Order memory) {
        (uint64 interval, uint32 index) = _splitOrderId(orderId);
        return _existingOrder(interval, index, orderId);
    }

    /// @notice Whether `orderId` has been settled.
    /// @param orderId (interval << 32) | index.
    function isSettled(uint256 orderId) external view returns (bool) {
        (uint64 interval, uint32 index) = _splitOrderId(orderId);
        _existingOrder(interval, index, orderId);
        return _settled[interval][index >> 8] & (1 << (index & 255)) != 0;
    }

    /// @notice The fill of `orderId` [Wh]; 0 before its interval is cleared.
    /// @param orderId (interval << 32) | index.
    function fillOf(uint256 orderId) external view returns (uint256) {
        (uint64 interval, uint32 index) = _splitOrderId(orderId);
        Order memory o = _existingOrder(interval, index, orderId);
        Result memory r = _results[interval];
        return r.cleared ? _fillOf(r, o, index) : 0;
    }

    /// @notice Fill of sell order `index` of `interval` [Wh] and the delivery penalty [units/kWh]
    /// and beta [wad/kWh] fixed when the interval cleared; zeros before clearing (read by ImportCap).
    /// @param interval Market interval.
    /// @param index The sell order's index in the interval.
    function deliveryOf(uint64 interval, uint32 index)
        external
        view
        returns (uint256 filledWh, uint256 penaltyPerKwh, uint256 betaWadPerKwh)
    {
        Result memory r = _results[interval];
        if (!r.cleared || index >= _orders[interval].length) return (0, 0, 0);
        Order memory o = _orders[interval][index];
        if (o.side != Side.Sell) return (0, 0, 0);
        return (_fillOf(r, o, index), r.deliveryPenaltyPerKwh, r.deliveryBetaWadPerKwh);
    }

    /// @notice Whether the held proceeds of sell order `orderId` have been released.
    /// @param orderId (interval << 32) | index.
    function isReleased(uint256 orderId) external view returns (bool) {
        (uint64 interval, uint32 index) = _splitOrderId(orderId);
        _existingOrder(interval, index, orderId);
        return _released[interval][index >> 8] & (1 << (index & 255)) != 0;
    }

    /// @notice Proceeds of `orderId` held by the Market until its delivery is metered [units]:
    /// a settled, filled sell's proceeds minus the network charge until released, else 0.
    /// @param orderId (interval << 32) | index.
    function heldOf(uint256 orderId) external view returns (uint256) {
        (uint64 interval, uint32 index) = _splitOrderId(orderId);
        Order memory o = _existingOrder(interval, index, orderId);
        uint256 mask = 1 << (index & 255);
        if (o.side != Side.Sell || _settled[interval][index >> 8] & mask == 0) return 0;
        if (_released[interval][index >> 8] & mask != 0) return 0;
        Result memory r = _results[interval];
        return _heldUnits(r, _fillOf(r, o, index));
    }

    /// @notice Order counts, settled count and pool of `interval`.
    /// @param interval Market interval.
    function bookOf(uint64 interval) external view returns (Book memory) {
        return _books[interval];
    }

    /// @notice Units credited to `account` and not yet withdrawn.
    /// @param account The account.
    function claimableOf(address account) external view returns (uint256) {
        uint256 stored = _claimable[account];
        return stored == 0 ? 0 : stored - 1;
    }

    /// @notice Escrow a buy order of `quantityWh` at `limitPricePerKwh` needs [units].
    /// @param quantityWh Energy [Wh].
    /// @param limitPricePerKwh Limit price [units/kWh].
    function escrowFor(uint256 quantityWh, uint256 limitPricePerKwh) external pure returns (uint256) {
        return _escrowUnits(quantityWh, limitPricePerKwh);
    }

    // ---------------------------------------------------------------- internals

    function _credit(address account, uint256 units) private {
        uint256 stored = _claimable[account];
        _claimable[account] = (stored == 0 ? 1 : stored) + units;
    }

    function _checkOrderAllowed(uint64 interval, uint40 quantityWh, uint40 limitPricePerKwh) private view {
        Phase phase = phaseOf(interval);
        if (phase != Phase.Open) revert MarketUnexpectedPhase(interval, phase);
        _checkRole(GridRoles.PROSUMER, msg.sender);
        uint256 trustWad = trust.trustOf(msg.sender);
        uint256 minTrust = regulation.minTrustWad();
        if (trustWad < minTrust) revert MarketTrustTooLow(msg.sender, trustWad, minTrust);
        if (quantityWh == 0) revert MarketZeroQuantity();
        uint256 floor = regulation.priceFloorPerKwh();
        uint256 ceiling = regulation.priceCeilingPerKwh();
        if (limitPricePerKwh < floor || limitPricePerKwh > ceiling) {
            revert MarketPriceOutsideBand(limitPricePerKwh, floor, ceiling);
        }
    }

    function _existingOrder(uint64 interval, uint32 index, uint256 orderId) private view returns (Order memory) {
        Order[] storage orders = _orders[interval];
        if (index >= orders.length) revert MarketUnknownOrder(orderId);
        return orders[index];
    }

    /// @dev A sell's net proceeds: floor(fill * price / 1000) - floor(fill * charge / 1000); the
    /// charge is clamped to the price, so this is >= 0.
    function _heldUnits(Result memory r, uint256 filledWh) private pure returns (uint256) {
        return (filledWh * r.priceUnitsPerKwh) / WH_PER_KWH - (filledWh * r.networkChargePerKwh) / WH_PER_KWH;
    }

    function _escrowUnits(uint256 quantityWh, uint256 limitPricePerKwh) private pure returns (uint256) {
        return Math.mulDiv(quantityWh, limitPricePerKwh, WH_PER_KWH, Math.Rounding.Ceil);
    }

}
