// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @notice How a contract bounds PCC power P (> 0 import, < 0 export).
/// Upper: V = max(0, P - upperW). Lower: V = max(0, lowerW - P). Range: both.
enum BoundKind {
    Upper,
    Lower,
    Range
}

/// @notice Terms C = {P_i, P_j, T, Phi} of an import-cap contract (FED-MGDT).
/// @dev Window: daily [windowStartS, windowEndS) in seconds after 00:00 UTC; start == end means
/// the whole day, end < start wraps midnight. A reading counts if its interval start lies in
/// the daily window and in [validFromTs, validToTs).
struct ContractTerms {
    address importer;
    BoundKind kind;
    uint32 windowStartS;
    uint32 windowEndS;
    address counterparty;
    uint40 validFromTs;
    uint40 validToTs;
    int64 lowerW;
    int64 upperW;
    uint64 lambdaUnitsPerKwh;
    uint64 betaWadPerKwh;
}

/// @title IImportCapErrors
/// @notice Custom errors of ImportCap.
interface IImportCapErrors {
    /// @notice No contract (import cap or reserved delivery) has this id.
    error ImportCapUnknownContract(uint256 contractId);
    /// @notice The importer is not an active participant.
    error ImportCapInactiveImporter(address importer);
    /// @notice The counterparty is zero or the importer itself.
    error ImportCapInvalidCounterparty(address counterparty);
    /// @notice The validity is empty: validFromTs must be before validToTs [unix s].
    error ImportCapInvalidValidity(uint40 validFromTs, uint40 validToTs);
    /// @notice A window bound is not a second of the day (0 .. 86,399) [s].
    error ImportCapInvalidWindow(uint32 windowStartS, uint32 windowEndS);
    /// @notice A Range contract's lower bound exceeds its upper bound [W].
    error ImportCapInvalidBounds(BoundKind kind, int64 lowerW, int64 upperW);
    /// @notice A bound lies outside Regulation's cap bounds [W].
    error ImportCapBoundOutsideRegulation(int64 boundW, int64 minCapW, int64 maxCapW);
    /// @notice The signature is not `importer`'s consent to these terms (it recovers to `signer`).
    error ImportCapNoConsent(address importer, address signer);
    /// @notice This signed consent of `importer` already created a contract.
    error ImportCapConsentUsed(address importer, bytes32 digest);
    /// @notice The penalty lambda exceeds Regulation's maxCapPenaltyPerKwh [units/kWh].
    error ImportCapPenaltyAboveRegulation(uint64 lambdaUnitsPerKwh, uint64 maxPenaltyPerKwh);
    /// @notice The trust beta exceeds Regulation's maxCapBetaWadPerKwh [wad/kWh].
    error ImportCapBetaAboveRegulation(uint64 betaWadPerKwh, uint64 maxBetaWadPerKwh);
    /// @notice The contract would start before readings already accounted for `importer`.
    error ImportCapRetroactive(address importer, uint40 validFromTs, uint40 lastReadingEndTs);
    /// @notice The importer already has the most active contracts allowed.
    error ImportCapTooManyActive(address importer, uint256 maxActive);
    /// @notice Only the contract's counterparty collects its penalty.
    error ImportCapNotCounterparty(uint256 contractId, address caller, address counterparty);
    /// @notice The contract's penalty is paid in full.
    error ImportCapNothingDue(uint256 contractId);
    /// @notice A penalty is due but the importer's balance or allowance is zero.
    error ImportCapNothingCollectible(uint256 contractId, uint256 dueUnits, uint256 balanceUnits, uint256 allowanceUnits);
    /// @notice The Market is already wired.
    error ImportCapMarketAlreadySet(address market);
}

/// @title IImportCap
/// @notice The audit interface of import-cap contracts (stable; see docs/architecture.md, "Stable interfaces", and docs/contracts.md).
interface IImportCap is IImportCapErrors {
    /// @notice An import-cap contract was created (bounds [W], validity [unix s]).
    event ContractCreated(
        uint256 indexed contractId,
        address indexed importer,
        address indexed counterparty,
        BoundKind kind,
        int64 lowerW,
        int64 upperW,
        uint40 validFromTs,
        uint40 validToTs
    );
    /// @notice A reading violated a contract: its violation and the contract's cumulative one [Wh].
    event ViolationRecorded(
        uint256 indexed contractId,
        address indexed participant,
        uint64 intervalStartTs,
        uint256 violationWh,
        uint256 cumulativeViolationWh
    );
    /// @notice A penalty payment reached the counterparty; `outstandingUnits` remain due [units].
    event PenaltyCollected(
        uint256 indexed contractId,
        address indexed importer,
        address indexed counterparty,
        uint256 amountUnits,
        uint256 outstandingUnits
    );

    /// @notice Number of import-cap contracts ever created; their ids are 0 .. contractCount() - 1.
    /// Market delivery obligations have ids deliveryId(seller, interval) (bit 255 set) and are
    /// enumerated from the Market's OrderPlaced and IntervalCleared events.
    function contractCount() external view returns (uint256);

    /// @notice The terms of contract `id`.
    /// @param id The contract (an import cap or a delivery).
    function contractTerms(uint256 id) external view returns (ContractTerms memory);

    /// @notice The accounting of contract `id`.
    /// @return violationWh E_viol [Wh, rounded down]
    /// @return totalWh E_total = sum |P| dt over readings in the window [Wh, rounded down]
    /// @return complianceWad R = 1 - E_viol / E_total [wad, clamped to 0..1]
    /// @return penaltyUnits lambda * E_viol accrued [units]
    /// @return trustWad exp(-beta * E_viol[kWh]) [wad]
    /// @param id The contract (an import cap or a delivery).
    function contractStatus(uint256 id)
        external
        view
        returns (uint256 violationWh, uint256 totalWh, uint256 complianceWad, uint256 penaltyUnits, uint256 trustWad);

    /// @notice sum over `participant`'s contracts of beta * E_viol[kWh] [wad]; trust = exp(-it).
    /// @param participant The participant.
    function exposureOf(address participant) external view returns (uint256);
}
