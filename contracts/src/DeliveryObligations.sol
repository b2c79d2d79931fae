// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RegistryGated} from "./RegistryGated.sol";
import {CapMath} from "./libraries/CapMath.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {TrustMath} from "./libraries/TrustMath.sol";
import {IMarketDeliveries} from "./interfaces/IMarket.sol";
import {BoundKind, ContractTerms, IImportCapErrors} from "./interfaces/IImportCap.sol";

/// @title DeliveryObligations
/// @notice The delivery records of cleared sell orders, audited by ImportCap's accounting path.
/// @dev A cleared sell is a contract of the import-cap form: importer = the seller,
/// counterparty = the Market's treasury, validity = the market interval, Upper bound =
/// -(filledWh * 3600 / intervalLengthS) W, lambda and beta as Regulation set them when the
/// interval cleared. Its one-slot record is reserved when the sell order is placed (so clearing
/// and settlement create no storage); its id is 2^255 | interval << 160 | seller.
abstract contract DeliveryObligations is RegistryGated, IImportCapErrors {
    uint256 internal constant DELIVERY_FLAG = 1 << 255;
    /// @dev AccessControl's DEFAULT_ADMIN_ROLE in the Registry.
    bytes32 private constant DEFAULT_ADMIN_ROLE = 0x00;

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

    mapping(address seller => mapping(uint64 interval => Delivery)) private _deliveries;
    MarketLink internal _link;

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
    /// @param seller The seller.
    /// @param interval Market interval.
    /// @param orderIndex Its sell order.
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

    /// @notice The id of `seller`'s delivery obligation for market `interval`.
    /// @param seller The seller.
    /// @param interval Market interval.
    function deliveryId(address seller, uint64 interval) public pure returns (uint256) {
        return DELIVERY_FLAG | (uint256(interval) << 160) | uint256(uint160(seller));
    }

    /// @notice The Market whose deliveries are audited here (zero until wired).
    function market() external view returns (address) {
        return address(_link.deliveries);
    }

    /// @dev Exposure is a sum of per-obligation floors: replace one obligation's term exactly.
    /// The new floor is never below the old one, since violation energy only grows.
    function _reexpose(uint256 exposure, uint256 beta, uint256 oldViolationJ, uint256 newViolationJ)
        internal
        pure
        returns (uint256)
    {
        return exposure + TrustMath.exposureWad(beta, newViolationJ) - TrustMath.exposureWad(beta, oldViolationJ);
    }

    function _loadDelivery(address seller, uint64 interval, MarketLink memory link, DeliveryCursor memory d) internal view {
        d.loaded = true;
        d.interval = interval;
        d.obligated = false;
        Delivery storage stored = _deliveries[seller][interval];
        uint256 indexPlusOne = stored.orderIndexPlusOne;
        if (indexPlusOne == 0) return;
        (uint256 filledWh, , uint256 beta) = link.deliveries.deliveryOf(interval, uint32(indexPlusOne - 1));
        if (filledWh == 0) return;
        d.obligated = true;
        d.upperW = -CapMath.requiredExportW(filledWh, link.intervalLengthS);
        d.betaWadPerKwh = beta;
        d.violationJ = stored.violationJ;
        d.totalJ = stored.totalJ;
        d.storedViolationJ = stored.violationJ;
    }

    function _flushDelivery(address seller, DeliveryCursor memory d, uint256 exposure) internal returns (uint256) {
        if (!d.obligated) return exposure;
        Delivery storage stored = _deliveries[seller][d.interval];
        stored.violationJ = SafeCast.toUint64(d.violationJ);
        stored.totalJ = SafeCast.toUint64(d.totalJ);
        d.obligated = false;
        return _reexpose(exposure, d.betaWadPerKwh, d.storedViolationJ, d.violationJ);
    }

    function _deliveryTerms(uint256 id) internal view returns (ContractTerms memory) {
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
                upperW: int64(-CapMath.requiredExportW(filledWh, link.intervalLengthS)),
                lambdaUnitsPerKwh: uint64(penaltyPerKwh),
                betaWadPerKwh: uint64(beta)
            });
    }

    function _deliveryAccumulators(uint256 id)
        internal
        view
        returns (uint256 violationJ, uint256 totalJ, uint256 paid)
    {
        (address seller, uint64 interval) = _splitDeliveryId(id);
        Delivery storage d = _deliveries[seller][interval];
        return (d.violationJ, d.totalJ, d.penaltyPaidUnits);
    }

    function _addDeliveryPenaltyPaid(uint256 id, uint256 amountUnits) internal {
        (address seller, uint64 interval) = _splitDeliveryId(id);
        _deliveries[seller][interval].penaltyPaidUnits += SafeCast.toUint96(amountUnits);
    }

    function _splitDeliveryId(uint256 id) internal pure returns (address seller, uint64 interval) {
        if ((id >> 224) != (DELIVERY_FLAG >> 224)) revert ImportCapUnknownContract(id);
        return (address(uint160(id)), uint64(id >> 160));
    }
}
