// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @title IRegistryErrors
/// @notice Custom errors of the Registry.
interface IRegistryErrors {
    /// @notice Admission is closed by Regulation's admission policy.
    error RegistryAdmissionClosed(address participant);
    /// @notice `caller` lacks the role the current admission policy requires.
    error RegistryAdmissionUnauthorized(address caller, uint8 policy);
    /// @notice `participant` is already admitted.
    error RegistryAlreadyAdmitted(address participant);
    /// @notice `meter` is already registered to `owner`.
    error RegistryMeterInUse(address meter, address owner);
    /// @notice A zero address was given where an account is required.
    error RegistryZeroAddress();
    /// @notice `participant` is not an active participant.
    error RegistryNotActive(address participant);
    /// @notice Regulation is already wired.
    error RegistryRegulationAlreadySet(address regulation);
}

/// @title IRegistry
/// @notice Participants, their meters and the roles every gridledger contract checks.
interface IRegistry is IAccessControl, IRegistryErrors {
    /// @notice Emitted after `participant` is admitted with `meter`.
    event ParticipantAdmitted(address indexed participant, address indexed meter, address by);
    /// @notice Emitted after `participant` is deactivated.
    event ParticipantDeactivated(address indexed participant, address by);

    /// @notice The registered meter of `participant` (zero if none).
    /// @param participant The participant.
    function meterOf(address participant) external view returns (address);
    /// @notice Whether `participant` is admitted and not deactivated.
    /// @param participant The participant.
    function isActive(address participant) external view returns (bool);
}
