// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {RegistryGated} from "./RegistryGated.sol";
import {GridRoles} from "./libraries/GridRoles.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";

/// @title GridToken
/// @notice The settlement token: ERC-20 with 6 decimals (one unit = 1e-6 token), minted by
/// the operator (standing in for a fiat on-ramp). Prices are units per kWh.
contract GridToken is ERC20, RegistryGated {
    constructor(IRegistry registry_) ERC20("gridledger settlement token", "GRID") RegistryGated(registry_) {}

    /// @notice 6 decimals, like the fiat-backed stablecoins a pilot would settle in.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mint `amountUnits` to `to`; operator only.
    /// @param to Recipient.
    /// @param amountUnits Amount [units, 1e-6 token].
    function mint(address to, uint256 amountUnits) external onlyRole(GridRoles.OPERATOR) {
        _mint(to, amountUnits);
    }
}
