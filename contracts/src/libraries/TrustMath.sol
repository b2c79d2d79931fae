// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {SD59x18, exp, sd} from "@prb/math/src/SD59x18.sol";

/// @title TrustMath
/// @notice trust = exp(-beta * E_viol[kWh]) in wad, with the exponent ("exposure") already
/// multiplied out as a wad. Uses PRBMath's SD59x18 `exp`.
/// @dev Input range: any exposure >= 0. PRBMath returns 0 for exponents below
/// -41.446531673892822322 (where exp() < 1e-18, i.e. below one wad unit), so large exposures
/// give trust 0 rather than a revert that would block accounting. Exposures above
/// 2^255 - 1 cannot be negated and are also mapped to 0. Tested against Python's math.exp
/// to 1e-12 absolute over the whole range.
library TrustMath {
    uint256 internal constant WAD = 1e18;
    /// @dev -uEXP_MIN_THRESHOLD of PRBMath: beyond this exposure exp(-x) rounds to 0.
    uint256 internal constant MAX_EXPOSURE_WAD = 41_446531673892822322;
    /// @dev Joules in one kWh: energy is accumulated in J (W*s) to avoid rounding drift.
    uint256 internal constant J_PER_KWH = 3_600_000;

    /// @notice exp(-exposureWad / 1e18) as a wad.
    /// @param exposure beta * E_viol[kWh], a wad (dimensionless).
    function trustWad(uint256 exposure) internal pure returns (uint256) {
        if (exposure > MAX_EXPOSURE_WAD) {
            return 0;
        }
        // Safe: exposure <= MAX_EXPOSURE_WAD < 2^255, so the negation fits in int256.
        SD59x18 result = exp(sd(-int256(exposure)));
        return uint256(result.unwrap());
    }

    /// @notice The exposure beta * E_viol[kWh] as a wad, rounded down.
    /// @param betaWadPerKwh beta, a wad per kWh.
    /// @param violationJ violation energy [J].
    function exposureWad(uint256 betaWadPerKwh, uint256 violationJ) internal pure returns (uint256) {
        return (betaWadPerKwh * violationJ) / J_PER_KWH;
    }
}
