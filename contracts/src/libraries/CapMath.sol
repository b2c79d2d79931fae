// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {TrustMath} from "./TrustMath.sol";
import {BoundKind, ContractTerms} from "../interfaces/IImportCap.sol";

/// @title CapMath
/// @notice The per-reading arithmetic of import-cap and delivery contracts (FED-MGDT), in
/// joules; pure, so the reference model in node/accounting.py can mirror it line by line.
library CapMath {
    uint256 internal constant SECONDS_PER_DAY = 86_400;
    uint256 internal constant WAD = 1e18;

    /// @dev Whether a reading starting at `startTs` falls in the contract's validity and daily window.
    function applies(ContractTerms memory t, uint64 startTs) internal pure returns (bool) {
        if (startTs < t.validFromTs || startTs >= t.validToTs) return false;
        uint256 tod = startTs % SECONDS_PER_DAY;
        uint256 ws = t.windowStartS;
        uint256 we = t.windowEndS;
        if (ws == we) return true;
        if (ws < we) return tod >= ws && tod < we;
        return tod >= ws || tod < we; // window wraps midnight
    }

    /// @dev Violation energy V dt [J] of one reading with net energy netJ [J] over dtS [s].
    function readingViolationJ(ContractTerms memory t, int256 netJ, uint256 dtS) internal pure returns (uint256 vJ) {
        if (t.kind != BoundKind.Lower) vJ = overJ(netJ, t.upperW, dtS);
        if (t.kind != BoundKind.Upper) vJ += underJ(netJ, t.lowerW, dtS);
    }

    /// @dev max(0, netJ - boundW * dtS) [J].
    function overJ(int256 netJ, int256 boundW, uint256 dtS) internal pure returns (uint256) {
        // Cannot overflow: |netJ| < 2^76, |boundW| < 2^64 and dtS < 2^32, so every product and
        // difference stays below 2^97 in magnitude, far inside int256.
        unchecked {
            int256 over = netJ - boundW * int256(dtS);
            return over > 0 ? uint256(over) : 0;
        }
    }

    /// @dev max(0, boundW * dtS - netJ) [J].
    function underJ(int256 netJ, int256 boundW, uint256 dtS) internal pure returns (uint256) {
        // Cannot overflow: as in _overJ.
        unchecked {
            int256 under = boundW * int256(dtS) - netJ;
            return under > 0 ? uint256(under) : 0;
        }
    }

    /// @dev Average export power sold [W]: filledWh over the interval, rounded down in the
    /// seller's favour. filledWh < 2^40, so the result is far inside int64.
    function requiredExportW(uint256 filledWh, uint256 intervalLengthS) internal pure returns (int256) {
        return int256((filledWh * 3600) / intervalLengthS);
    }

    function penaltyUnits(uint256 lambdaUnitsPerKwh, uint256 violationJ) internal pure returns (uint256) {
        return Math.mulDiv(lambdaUnitsPerKwh, violationJ, TrustMath.J_PER_KWH);
    }

    /// @dev R = 1 - E_viol / E_total as a wad, rounded down; 1 with no energy at all, 0 when
    /// the violation reaches the total (possible for delivery bounds below zero).
    function complianceWad(uint256 violationJ, uint256 totalJ) internal pure returns (uint256) {
        if (totalJ == 0) return violationJ == 0 ? WAD : 0;
        if (violationJ >= totalJ) return 0;
        return Math.mulDiv(totalJ - violationJ, WAD, totalJ);
    }
}
