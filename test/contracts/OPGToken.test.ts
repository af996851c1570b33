/**
 * OPGToken (local chains and tests only): supply to the owner, owner-only mint, EIP-2612 permit.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, parseSignature } from "viem";
import { OPG, PARAMS } from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;

async function fixture() {
  const wallets = await viem.getWalletClients();
  const [owner, holder, spender] = wallets.map((w) => getAddress(w.account.address)) as [
    `0x${string}`,
    `0x${string}`,
    `0x${string}`,
  ];
  const token = await viem.deployContract("OPGToken", [owner, PARAMS.initialSupply]);
  const chainId = await (await viem.getPublicClient()).getChainId();
  return { token, owner, holder, spender, holderWallet: wallets[1]!, chainId };
}

describe("OPGToken", () => {
  it("test_constructor_deployed_mintsInitialSupplyToOwner", async () => {
    const { token, owner } = await loadFixture(fixture);
    assert.equal(await token.read.totalSupply(), PARAMS.initialSupply);
    assert.equal(await token.read.balanceOf([owner]), PARAMS.initialSupply);
    assert.equal(await token.read.symbol(), "OPG");
    assert.equal(getAddress(await token.read.owner()), owner);
  });

  it("test_mint_byOwnerThenByStranger_mintsElseRevertsOwnableUnauthorizedAccount", async () => {
    const { token, holder } = await loadFixture(fixture);
    await viem.assertions.emitWithArgs(token.write.mint([holder, OPG(3)]), token, "Transfer", [
      "0x0000000000000000000000000000000000000000",
      holder,
      OPG(3),
    ]);
    assert.equal(await token.read.balanceOf([holder]), OPG(3));
    await viem.assertions.revertWithCustomErrorWithArgs(
      token.write.mint([holder, 1n], { account: holder }),
      token,
      "OwnableUnauthorizedAccount",
      [holder],
    );
  });

  it("test_permit_holderSignatureElseWrongSignerOrExpired_setsAllowanceElseRevertsERC2612InvalidSignerOrERC2612ExpiredSignature", async () => {
    const { token, holder, spender, holderWallet, chainId } = await loadFixture(fixture);
    const deadline = BigInt(await networkHelpers.time.latest()) + 100n;
    const sign = async (value: bigint, dl: bigint) =>
      parseSignature(
        await holderWallet.signTypedData({
          domain: { name: "OPG", version: "1", chainId, verifyingContract: token.address },
          types: {
            Permit: [
              { name: "owner", type: "address" },
              { name: "spender", type: "address" },
              { name: "value", type: "uint256" },
              { name: "nonce", type: "uint256" },
              { name: "deadline", type: "uint256" },
            ],
          },
          primaryType: "Permit",
          message: { owner: holder, spender, value, nonce: await token.read.nonces([holder]), deadline: dl },
        }),
      );
    const p = await sign(OPG(1), deadline);
    // Signed for holder, presented as the owner's permit: the recovered signer is not the owner.
    await viem.assertions.revertWithCustomError(
      token.write.permit([spender, spender, OPG(1), deadline, Number(p.v), p.r, p.s]),
      token,
      "ERC2612InvalidSigner",
    );
    await token.write.permit([holder, spender, OPG(1), deadline, Number(p.v), p.r, p.s]);
    assert.equal(await token.read.allowance([holder, spender]), OPG(1));
    const late = await sign(OPG(2), deadline);
    await networkHelpers.time.increaseTo(deadline + 1n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      token.write.permit([holder, spender, OPG(2), deadline, Number(late.v), late.r, late.s]),
      token,
      "ERC2612ExpiredSignature",
      [deadline],
    );
  });
});
