// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice Order side; the IntEnum in market/ has the same order.
enum Side {
    Buy,
    Sell
}

/// @notice Phase of one market interval.
/// Open: orders accepted. GateClosed: gate passed, not yet clearing. Clearing: a witness is
/// being submitted. Cleared: price and volume fixed; orders can be settled.
enum Phase {
    Open,
    GateClosed,
    Clearing,
    Cleared
}

/// @title IMarketErrors
/// @notice Custom errors of Market.
interface IMarketErrors {
    /// @notice The interval is not in the phase this call needs.
    error MarketUnexpectedPhase(uint64 interval, Phase current);
    /// @notice The participant's trust is below Regulation's minimum to trade [wad].
    error MarketTrustTooLow(address participant, uint256 trustWad, uint256 minTrustWad);
    /// @notice An order must have a quantity.
    error MarketZeroQuantity();
    /// @notice The limit price lies outside Regulation's band [units/kWh].
    error MarketPriceOutsideBand(uint256 pricePerKwh, uint256 floorPerKwh, uint256 ceilingPerKwh);
    /// @notice The interval holds the most orders allowed.
    error MarketIntervalFull(uint64 interval, uint256 maxOrders);
    /// @notice The participant already has a sell order in the interval.
    error MarketDuplicateSell(uint64 interval, address participant, uint256 existingOrderId);
    /// @notice Clearing must finish before delivery starts; a late interval can only be voided.
    error MarketDeliveryStarted(uint64 interval, uint256 intervalStartTs);
    /// @notice The interval has not started yet, so it cannot be voided.
    error MarketDeliveryNotStarted(uint64 interval, uint256 intervalStartTs);
    /// @notice Only the clearer who began the clearing continues it.
    error MarketNotClearer(uint64 interval, address caller, address clearer);
    /// @notice The clearing in progress is not yet stale, so only its clearer or the operator may abort it.
    error MarketClearingNotStale(uint64 interval, uint256 startedAtTs, uint256 timeoutS);
    /// @notice A witness index names no order of the interval.
    error MarketWitnessIndexOutOfRange(uint64 interval, uint256 index, uint256 orderCount);
    /// @notice A witness index names an order of the other side.
    error MarketWitnessWrongSide(uint64 interval, uint256 index, Side expected);
    /// @notice A witness names an order twice.
    error MarketWitnessDuplicate(uint64 interval, uint256 index);
    /// @notice A witness is not in ranking order at this index.
    error MarketWitnessNotSorted(uint64 interval, uint256 previousIndex, uint256 index);
    /// @notice The witness does not name every order of both sides.
    error MarketWitnessIncomplete(uint64 interval, uint256 buysSeen, uint256 buyCount, uint256 sellsSeen, uint256 sellCount);
    /// @notice The claimed volume exceeds total demand or total supply.
    error MarketVolumeInfeasible(uint64 interval, uint256 claimedWh, uint256 demandWh, uint256 supplyWh);
    /// @notice The marginal buy price is below the marginal sell price: the claimed volume is too large.
    error MarketWitnessNotCrossing(uint64 interval, uint256 claimedWh, uint256 buyPricePerKwh, uint256 sellPricePerKwh);
    /// @notice The next unit would still cross: the claimed volume is too small.
    error MarketVolumeNotMaximal(uint64 interval, uint256 claimedWh, uint256 nextBuyPricePerKwh, uint256 nextSellPricePerKwh);
    /// @notice No order has this id.
    error MarketUnknownOrder(uint256 orderId);
    /// @notice The order is settled already.
    error MarketOrderAlreadySettled(uint256 orderId);
    /// @notice A batch must hold 1 to maxSize ids.
    error MarketBatchSize(uint256 size, uint256 maxSize);
    /// @notice Nothing is credited to the account.
    error MarketNothingToWithdraw(address account);
    /// @notice Proceeds are released only for settled orders.
    error MarketOrderNotSettled(uint256 orderId);
    /// @notice Only a filled sell order holds proceeds.
    error MarketNoProceedsHeld(uint256 orderId);
    /// @notice The order's held proceeds were released already.
    error MarketProceedsAlreadyReleased(uint256 orderId);
    /// @notice The seller's accounted readings end at `lastReadingEndTs`, before the interval's
    /// end, and the grace period (until `graceEndTs`) has not run out [unix s].
    error MarketDeliveryNotMetered(uint256 orderId, uint256 lastReadingEndTs, uint256 intervalEndTs, uint256 graceEndTs);
}

/// @title IMarketDeliveries
/// @notice What ImportCap reads from the Market to audit cleared sells as delivery obligations.
interface IMarketDeliveries {
    /// @notice Fill of sell order `index` of `interval` [Wh] and the delivery penalty [units/kWh]
    /// and beta [wad/kWh] fixed when the interval cleared; zeros before clearing.
    /// @param interval Market interval.
    /// @param index The sell order's index in the interval.
    function deliveryOf(uint64 interval, uint32 index)
        external
        view
        returns (uint256 filledWh, uint256 penaltyPerKwh, uint256 betaWadPerKwh);

    /// @notice Start of interval 0 [unix s].
    function epochStartTs() external view returns (uint64);

    /// @notice Length of one interval [s].
    function intervalLengthS() external view returns (uint64);

    /// @notice The delivery obligations' counterparty (the Market's treasury).
    function treasury() external view returns (address);
}
