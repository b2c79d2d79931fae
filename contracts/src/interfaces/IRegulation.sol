// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice Who may admit participants.
enum AdmissionPolicy {
    OperatorOrRegulator,
    RegulatorOnly,
    Closed
}

/// @title IRegulationErrors
/// @notice Custom errors of Regulation.
interface IRegulationErrors {
    /// @notice The price floor exceeds the ceiling.
    error RegulationInvalidPriceBand(uint256 floorPerKwh, uint256 ceilingPerKwh);
    /// @notice The network charge exceeds the price floor (sellers' net proceeds would go negative).
    error RegulationChargeAboveFloor(uint256 chargePerKwh, uint256 floorPerKwh);
    /// @notice The minimum cap exceeds the maximum cap.
    error RegulationInvalidCapBounds(int256 minCapW, int256 maxCapW);
    /// @notice A trust threshold above 1 (1e18) can never be met.
    error RegulationTrustAboveOne(uint256 minTrustWad);
}

/// @title IRegulation
/// @notice The L7 rules other contracts read.
interface IRegulation is IRegulationErrors {
    /// @notice Feed-in tariff: the lowest clearing price [units/kWh].
    function priceFloorPerKwh() external view returns (uint64);
    /// @notice Retail tariff: the highest clearing price [units/kWh].
    function priceCeilingPerKwh() external view returns (uint64);
    /// @notice Network charge deducted from sellers' proceeds [units/kWh].
    function networkChargePerKwh() external view returns (uint64);
    /// @notice Lowest bound an operator may set in an import-cap contract [W].
    function minCapW() external view returns (int64);
    /// @notice Highest bound an operator may set in an import-cap contract [W].
    function maxCapW() external view returns (int64);
    /// @notice Trust a participant needs to place orders [wad].
    function minTrustWad() external view returns (uint64);
    /// @notice Who may admit participants.
    function admissionPolicy() external view returns (AdmissionPolicy);
    /// @notice Penalty lambda of market delivery obligations [units/kWh of shortfall].
    function deliveryPenaltyPerKwh() external view returns (uint64);
    /// @notice Trust beta of market delivery obligations [wad per kWh].
    function deliveryBetaWadPerKwh() external view returns (uint64);
    /// @notice Highest penalty lambda an operator may give an import-cap contract [units/kWh].
    function maxCapPenaltyPerKwh() external view returns (uint64);
    /// @notice Highest trust beta an operator may give an import-cap contract [wad per kWh].
    function maxCapBetaWadPerKwh() external view returns (uint64);
}
