// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

/// @title RegistryGated
/// @notice Base of every contract whose functions are gated by roles held in the Registry,
/// so one place decides who is operator, regulator, prosumer, Metering or Market.
/// @dev Reverts with OpenZeppelin's AccessControlUnauthorizedAccount(account, neededRole).
abstract contract RegistryGated {
    /// @notice The Registry holding roles and participants.
    IRegistry public immutable registry;

    constructor(IRegistry registry_) {
        registry = registry_;
    }

    modifier onlyRole(bytes32 role) {
        _checkRole(role, msg.sender);
        _;
    }

    function _checkRole(bytes32 role, address account) internal view {
        if (!registry.hasRole(role, account)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(account, role);
        }
    }
}
