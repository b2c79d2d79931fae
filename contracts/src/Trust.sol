// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {TrustMath} from "./libraries/TrustMath.sol";
import {IImportCap} from "./interfaces/IImportCap.sol";

/// @title Trust
/// @notice trust = exp(-beta * E_viol[kWh]) per participant over all its contracts (the
/// product of its per-contract trusts), readable by anyone; the market and regulation use it.
/// @dev Derived on read from ImportCap's exposure, so it can never disagree with the accounting.
contract Trust {
    /// @notice The contract that accounts violations.
    IImportCap public immutable importCap;

    constructor(IImportCap importCap_) {
        importCap = importCap_;
    }

    /// @notice Overall trust of `participant` [wad]: exp(-sum_c beta_c * E_viol,c[kWh]); 1e18 with no violation.
    /// @param participant Any address.
    function trustOf(address participant) external view returns (uint256) {
        return TrustMath.trustWad(importCap.exposureOf(participant));
    }

    /// @notice Trust from contract `id` alone [wad].
    /// @param id An ImportCap contract id.
    function contractTrustOf(uint256 id) external view returns (uint256 trustWad) {
        (, , , , trustWad) = importCap.contractStatus(id);
    }

    /// @notice exp(-exposureWad / 1e18) [wad], the curve used everywhere (exposed for audits).
    /// @param exposureWad beta * E_viol[kWh] [wad].
    function trustCurve(uint256 exposureWad) external pure returns (uint256) {
        return TrustMath.trustWad(exposureWad);
    }
}
