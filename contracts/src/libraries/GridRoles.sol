// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title GridRoles
/// @notice The role identifiers every gridledger contract checks against the Registry.
library GridRoles {
    /// @notice The system operator: creates import-cap contracts, admits participants,
    /// mints settlement tokens, pauses metering and the market.
    bytes32 internal constant OPERATOR = keccak256("gridledger.role.operator");
    /// @notice The regulator: sets the rules held by Regulation, admits participants.
    bytes32 internal constant REGULATOR = keccak256("gridledger.role.regulator");
    /// @notice An admitted participant (prosumer); granted only by Registry.admit.
    bytes32 internal constant PROSUMER = keccak256("gridledger.role.prosumer");
    /// @notice Held by the Metering contract: forwards verified readings to ImportCap.
    bytes32 internal constant METERING = keccak256("gridledger.role.metering");
    /// @notice Held by the Market contract: creates delivery obligations in ImportCap.
    bytes32 internal constant MARKET = keccak256("gridledger.role.market");
    /// @notice A role nobody holds; admin of PROSUMER so it can't be granted around admit().
    bytes32 internal constant NOBODY = keccak256("gridledger.role.nobody");
}
