// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {AdmissionPolicy, IRegulation} from "./interfaces/IRegulation.sol";

/// @title Registry
/// @notice Participants, their meters and all roles (operator, regulator, prosumer, and the
/// Metering and Market contracts). Admission follows Regulation's admission policy.
contract Registry is AccessControl, IRegistry {
    struct Participant {
        address meter;
        uint40 admittedAtTs;
        bool active;
    }

    /// @notice Regulation, wired once after deployment (it needs this Registry's address).
    IRegulation public regulation;

    mapping(address participant => Participant) private _participants;
    mapping(address meter => address participant) private _meterOwner;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE: grants operator, regulator and contract roles.
    constructor(address admin) {
        if (admin == address(0)) revert RegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        // PROSUMER is granted only through admit(); nobody can grant it directly. NOBODY is its
        // own admin, so not even DEFAULT_ADMIN_ROLE can grant itself NOBODY and then PROSUMER.
        _setRoleAdmin(GridRoles.PROSUMER, GridRoles.NOBODY);
        _setRoleAdmin(GridRoles.NOBODY, GridRoles.NOBODY);
    }

    /// @notice Wire the Regulation contract; possible once, by the admin.
    /// @param regulation_ The Regulation contract whose admission policy this Registry follows.
    function setRegulation(IRegulation regulation_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(regulation) != address(0)) revert RegistryRegulationAlreadySet(address(regulation));
        if (address(regulation_) == address(0)) revert RegistryZeroAddress();
        regulation = regulation_;
    }

    /// @notice Admit `participant` with its meter's signing address `meter`.
    /// @dev Policy OperatorOrRegulator: operator or regulator; RegulatorOnly: regulator; Closed: nobody.
    /// @param participant The participant's account (signs orders, pays penalties).
    /// @param meter The address of the meter's own secp256k1 key (signs readings).
    function admit(address participant, address meter) external {
        AdmissionPolicy policy = regulation.admissionPolicy();
        if (policy == AdmissionPolicy.Closed) revert RegistryAdmissionClosed(participant);
        bool isRegulator = hasRole(GridRoles.REGULATOR, msg.sender);
        bool allowed = isRegulator ||
            (policy == AdmissionPolicy.OperatorOrRegulator && hasRole(GridRoles.OPERATOR, msg.sender));
        if (!allowed) revert RegistryAdmissionUnauthorized(msg.sender, uint8(policy));
        if (participant == address(0) || meter == address(0)) revert RegistryZeroAddress();
        if (_participants[participant].admittedAtTs != 0) revert RegistryAlreadyAdmitted(participant);
        address owner = _meterOwner[meter];
        if (owner != address(0)) revert RegistryMeterInUse(meter, owner);

        _participants[participant] = Participant({
            meter: meter,
            admittedAtTs: uint40(block.timestamp),
            active: true
        });
        _meterOwner[meter] = participant;
        _grantRole(GridRoles.PROSUMER, participant);
        emit ParticipantAdmitted(participant, meter, msg.sender);
    }

    /// @notice Deactivate `participant`: its meter's readings and its orders are refused from now
    /// on. The meter stays bound to it so it cannot be re-registered to someone else.
    /// @param participant The participant to deactivate.
    function deactivate(address participant) external {
        if (!hasRole(GridRoles.OPERATOR, msg.sender) && !hasRole(GridRoles.REGULATOR, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, GridRoles.OPERATOR);
        }
        Participant storage p = _participants[participant];
        if (!p.active) revert RegistryNotActive(participant);
        p.active = false;
        _revokeRole(GridRoles.PROSUMER, participant);
        emit ParticipantDeactivated(participant, msg.sender);
    }

    /// @inheritdoc IRegistry
    function meterOf(address participant) external view returns (address) {
        return _participants[participant].meter;
    }

    /// @inheritdoc IRegistry
    function isActive(address participant) external view returns (bool) {
        return _participants[participant].active;
    }

    /// @notice The participant a meter is registered to (zero if none).
    /// @param meter A meter's signing address.
    function participantOfMeter(address meter) external view returns (address) {
        return _meterOwner[meter];
    }

    /// @notice Full record of `participant`.
    /// @param participant The participant.
    function participantOf(address participant) external view returns (Participant memory) {
        return _participants[participant];
    }
}
