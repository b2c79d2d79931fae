// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {RegistryGated} from "./RegistryGated.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {AdmissionPolicy, IRegulation} from "./interfaces/IRegulation.sol";

/// @title Regulation
/// @notice The L7 rules: price band [feed-in, retail], network charge, import-cap bounds and
/// the highest penalty (lambda) and trust (beta) factors an import cap may carry,
/// minimum trust to trade, admission policy, and the terms of market delivery obligations.
/// Changed only by the regulator role; every change emits an event with old and new values.
contract Regulation is RegistryGated, IRegulation {
    /// @notice Initial rule values.
    struct Rules {
        uint64 priceFloorPerKwh;
        uint64 priceCeilingPerKwh;
        uint64 networkChargePerKwh;
        int64 minCapW;
        int64 maxCapW;
        uint64 minTrustWad;
        AdmissionPolicy admissionPolicy;
        uint64 deliveryPenaltyPerKwh;
        uint64 deliveryBetaWadPerKwh;
        uint64 maxCapPenaltyPerKwh;
        uint64 maxCapBetaWadPerKwh;
    }

    /// @notice The price band changed [units/kWh].
    event PriceBandChanged(uint64 oldFloorPerKwh, uint64 oldCeilingPerKwh, uint64 floorPerKwh, uint64 ceilingPerKwh);
    /// @notice The network charge changed [units/kWh].
    event NetworkChargeChanged(uint64 oldChargePerKwh, uint64 chargePerKwh);
    /// @notice The cap bounds changed (old and new, [W]).
    event CapBoundsChanged(int64 oldMinCapW, int64 oldMaxCapW, int64 minCapW, int64 maxCapW);
    /// @notice The minimum trust to trade changed [wad].
    event MinTrustChanged(uint64 oldMinTrustWad, uint64 minTrustWad);
    /// @notice The admission policy changed (old, new).
    event AdmissionPolicyChanged(AdmissionPolicy oldPolicy, AdmissionPolicy policy);
    /// @notice The delivery penalty [units/kWh] and beta [wad/kWh] changed (old, new).
    event DeliveryTermsChanged(uint64 oldPenaltyPerKwh, uint64 oldBetaWadPerKwh, uint64 penaltyPerKwh, uint64 betaWadPerKwh);
    /// @notice The largest cap penalty [units/kWh] and beta [wad/kWh] changed.
    event CapFactorBoundsChanged(
        uint64 oldMaxPenaltyPerKwh,
        uint64 oldMaxBetaWadPerKwh,
        uint64 maxPenaltyPerKwh,
        uint64 maxBetaWadPerKwh
    );

    uint64 public priceFloorPerKwh;
    uint64 public priceCeilingPerKwh;
    uint64 public networkChargePerKwh;
    int64 public minCapW;
    int64 public maxCapW;
    uint64 public minTrustWad;
    AdmissionPolicy public admissionPolicy;
    uint64 public deliveryPenaltyPerKwh;
    uint64 public deliveryBetaWadPerKwh;
    uint64 public maxCapPenaltyPerKwh;
    uint64 public maxCapBetaWadPerKwh;

    /// @param registry_ The Registry holding the regulator role.
    /// @param rules Initial values, checked like later changes.
    constructor(IRegistry registry_, Rules memory rules) RegistryGated(registry_) {
        _setPriceBand(rules.priceFloorPerKwh, rules.priceCeilingPerKwh);
        _setNetworkCharge(rules.networkChargePerKwh);
        _setCapBounds(rules.minCapW, rules.maxCapW);
        _setMinTrust(rules.minTrustWad);
        _setAdmissionPolicy(rules.admissionPolicy);
        _setDeliveryTerms(rules.deliveryPenaltyPerKwh, rules.deliveryBetaWadPerKwh);
        _setCapFactorBounds(rules.maxCapPenaltyPerKwh, rules.maxCapBetaWadPerKwh);
    }

    /// @notice Set the price band every clearing price is clamped to.
    /// @param floorPerKwh Feed-in tariff [units/kWh]; must be >= the network charge.
    /// @param ceilingPerKwh Retail tariff [units/kWh]; must be >= the floor.
    function setPriceBand(uint64 floorPerKwh, uint64 ceilingPerKwh) external onlyRole(GridRoles.REGULATOR) {
        _setPriceBand(floorPerKwh, ceilingPerKwh);
    }

    /// @notice Set the network charge deducted from sellers' proceeds.
    /// @param chargePerKwh Charge [units/kWh]; at most the price floor.
    function setNetworkCharge(uint64 chargePerKwh) external onlyRole(GridRoles.REGULATOR) {
        _setNetworkCharge(chargePerKwh);
    }

    /// @notice Set the bounds an operator may give import-cap contracts.
    /// @param minCapW_ Lowest allowed bound [W].
    /// @param maxCapW_ Highest allowed bound [W].
    function setCapBounds(int64 minCapW_, int64 maxCapW_) external onlyRole(GridRoles.REGULATOR) {
        _setCapBounds(minCapW_, maxCapW_);
    }

    /// @notice Set the trust a participant needs to place orders.
    /// @param minTrustWad_ Threshold [wad], at most 1e18.
    function setMinTrust(uint64 minTrustWad_) external onlyRole(GridRoles.REGULATOR) {
        _setMinTrust(minTrustWad_);
    }

    /// @notice Set who may admit participants.
    /// @param policy Who may admit: operator or regulator, regulator only, or closed.
    function setAdmissionPolicy(AdmissionPolicy policy) external onlyRole(GridRoles.REGULATOR) {
        _setAdmissionPolicy(policy);
    }

    /// @notice Set the penalty and trust terms of future market delivery obligations.
    /// @param penaltyPerKwh lambda [units/kWh of shortfall].
    /// @param betaWadPerKwh beta [wad/kWh].
    function setDeliveryTerms(uint64 penaltyPerKwh, uint64 betaWadPerKwh) external onlyRole(GridRoles.REGULATOR) {
        _setDeliveryTerms(penaltyPerKwh, betaWadPerKwh);
    }

    /// @notice Set the highest penalty and trust factors an operator may give import-cap contracts.
    /// @param maxPenaltyPerKwh Highest lambda [units/kWh of violation].
    /// @param maxBetaWadPerKwh Highest beta [wad per kWh of violation].
    function setCapFactorBounds(uint64 maxPenaltyPerKwh, uint64 maxBetaWadPerKwh) external onlyRole(GridRoles.REGULATOR) {
        _setCapFactorBounds(maxPenaltyPerKwh, maxBetaWadPerKwh);
    }

    function _setPriceBand(uint64 floorPerKwh, uint64 ceilingPerKwh) private {
        if (floorPerKwh > ceilingPerKwh) revert RegulationInvalidPriceBand(floorPerKwh, ceilingPerKwh);
        if (networkChargePerKwh > floorPerKwh) revert RegulationChargeAboveFloor(networkChargePerKwh, floorPerKwh);
        emit PriceBandChanged(priceFloorPerKwh, priceCeilingPerKwh, floorPerKwh, ceilingPerKwh);
        priceFloorPerKwh = floorPerKwh;
        priceCeilingPerKwh = ceilingPerKwh;
    }

    function _setNetworkCharge(uint64 chargePerKwh) private {
        if (chargePerKwh > priceFloorPerKwh) revert RegulationChargeAboveFloor(chargePerKwh, priceFloorPerKwh);
        emit NetworkChargeChanged(networkChargePerKwh, chargePerKwh);
        networkChargePerKwh = chargePerKwh;
    }

    function _setCapBounds(int64 minCapW_, int64 maxCapW_) private {
        if (minCapW_ > maxCapW_) revert RegulationInvalidCapBounds(minCapW_, maxCapW_);
        emit CapBoundsChanged(minCapW, maxCapW, minCapW_, maxCapW_);
        minCapW = minCapW_;
        maxCapW = maxCapW_;
    }

    function _setMinTrust(uint64 minTrustWad_) private {
        if (minTrustWad_ > 1e18) revert RegulationTrustAboveOne(minTrustWad_);
        emit MinTrustChanged(minTrustWad, minTrustWad_);
        minTrustWad = minTrustWad_;
    }

    function _setAdmissionPolicy(AdmissionPolicy policy) private {
        emit AdmissionPolicyChanged(admissionPolicy, policy);
        admissionPolicy = policy;
    }

    function _setDeliveryTerms(uint64 penaltyPerKwh, uint64 betaWadPerKwh) private {
        emit DeliveryTermsChanged(deliveryPenaltyPerKwh, deliveryBetaWadPerKwh, penaltyPerKwh, betaWadPerKwh);
        deliveryPenaltyPerKwh = penaltyPerKwh;
        deliveryBetaWadPerKwh = betaWadPerKwh;
    }

    function _setCapFactorBounds(uint64 maxPenaltyPerKwh, uint64 maxBetaWadPerKwh) private {
        emit CapFactorBoundsChanged(maxCapPenaltyPerKwh, maxCapBetaWadPerKwh, maxPenaltyPerKwh, maxBetaWadPerKwh);
        maxCapPenaltyPerKwh = maxPenaltyPerKwh;
        maxCapBetaWadPerKwh = maxBetaWadPerKwh;
    }
}
