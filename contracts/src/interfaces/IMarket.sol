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
    error MarketUnexpectedPhase(uint64 interval, Phase current);
    error MarketTrustTooLow(address participant, uint256 trustWad, uint256 minTrustWad);
    error MarketZeroQuantity();
    error MarketPriceOutsideBand(uint256 pricePerKwh, uint256 floorPerKwh, uint256 ceilingPerKwh);
    error MarketIntervalFull(uint64 interval, uint256 maxOrders);
    error MarketDuplicateSell(uint64 interval, address participant, uint256 existingOrderId);
    /// @notice Clearing must finish before delivery starts; a late interval can only be voided.
    error MarketDeliveryStarted(uint64 interval, uint256 intervalStartTs);
    /// @notice The interval has not started yet, so it cannot be voided.
    error MarketDeliveryNotStarted(uint64 interval, uint256 intervalStartTs);
    error MarketNotClearer(uint64 interval, address caller, address clearer);
    error MarketClearingNotStale(uint64 interval, uint256 startedAtTs, uint256 timeoutS);
    error MarketWitnessIndexOutOfRange(uint64 interval, uint256 index, uint256 orderCount);
    error MarketWitnessWrongSide(uint64 interval, uint256 index, Side expected);
    error MarketWitnessDuplicate(uint64 interval, uint256 index);
    error MarketWitnessNotSorted(uint64 interval, uint256 previousIndex, uint256 index);
    error MarketWitnessIncomplete(uint64 interval, uint256 buysSeen, uint256 buyCount, uint256 sellsSeen, uint256 sellCount);
    /// @notice The claimed volume exceeds total demand or total supply.
    error MarketVolumeInfeasible(uint64 interval, uint256 claimedWh, uint256 demandWh, uint256 supplyWh);
    /// @notice The marginal buy price is below the marginal sell price: the claimed volume is too large.
    error MarketWitnessNotCrossing(uint64 interval, uint256 claimedWh, uint256 buyPricePerKwh, uint256 sellPricePerKwh);
    /// @notice The next unit would still cross: the claimed volume is too small.
    error MarketVolumeNotMaximal(uint64 interval, uint256 claimedWh, uint256 nextBuyPricePerKwh, uint256 nextSellPricePerKwh);
    error MarketUnknownOrder(uint256 orderId);
    error MarketOrderAlreadySettled(uint256 orderId);
    error MarketBatchSize(uint256 size, uint256 maxSize);
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
    function deliveryOf(uint64 interval, uint32 index)
        external
        view
        returns (uint256 filledWh, uint256 penaltyPerKwh, uint256 betaWadPerKwh);

    function epochStartTs() external view returns (uint64);

    function intervalLengthS() external view returns (uint64);

    function treasury() external view returns (address);
}
