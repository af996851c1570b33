// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title OPGToken
/// @notice OPG for local chains and tests only. Production deployments pass the real OPG address to
/// ValidatorSet, GatewayRegistry and ProofSettlement instead.
/// @custom:semver 0.1.0
contract OPGToken is ERC20, ERC20Permit, Ownable {
    constructor(address owner, uint256 initialSupply) ERC20("OPG", "OPG") ERC20Permit("OPG") Ownable(owner) {
        _mint(owner, initialSupply);
    }

    /// @notice Owner mints test tokens.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
