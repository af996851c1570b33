// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The few Hardhat/Foundry cheatcodes proofpath's Solidity tests use (there is no forge-std).
/// @dev Signatures follow Foundry's `Vm` interface; EDR serves them at `VM_ADDRESS`.
interface Vm {
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function getNonce(address account) external view returns (uint64);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function assume(bool condition) external pure;
    function label(address account, string calldata newLabel) external;
}

/// @dev keccak256("hevm cheat code") truncated to an address.
address constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;
