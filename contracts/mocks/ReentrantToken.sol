// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Test-only ERC20 that, once armed, calls back into `target` with `data` from inside its
/// next `transfer` or `transferFrom` (before moving tokens), and bubbles the callback's revert. Tests
/// use it to check that ProofSettlement's token paths are guarded against reentrancy.
contract ReentrantToken is ERC20 {
    enum Hook {
        None,
        Transfer,
        TransferFrom
    }

    Hook public hook;
    address public target;
    bytes public data;
    /// @notice Whether the last callback succeeded (a harmless reentry leaves this true).
    bool public lastCallbackOk;

    constructor() ERC20("Reentrant", "REE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms one callback into `target_` on the next `hook_` call.
    function arm(Hook hook_, address target_, bytes calldata data_) external {
        (hook, target, data) = (hook_, target_, data_);
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        _maybeReenter(Hook.Transfer);
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        _maybeReenter(Hook.TransferFrom);
        return super.transferFrom(from, to, value);
    }

    function _maybeReenter(Hook at) private {
        if (hook != at) return;
        hook = Hook.None; // one shot: the callback's own transfers don't re-trigger
        (bool ok, bytes memory ret) = target.call(data);
        lastCallbackOk = ok;
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}
