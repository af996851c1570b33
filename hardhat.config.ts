import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";

const require = createRequire(import.meta.url);

// Fuzz/invariant depth: CI runs the "ci" profile; FUZZ_PROFILE=full is the figure for notes.
const full = process.env.FUZZ_PROFILE === "full";

export default defineConfig({
  plugins: [hardhatMocha, hardhatViem, hardhatViemAssertions, hardhatNetworkHelpers],
  solidity: {
    // Offline: the npm `solc` package's soljson, never a download.
    version: "0.8.28",
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "contracts",
    tests: { mocha: "test", solidity: "contracts/test" },
  },
  test: {
    solidity: {
      fuzz: { runs: 10_000 },
      invariant: { runs: full ? 256 : 32, depth: full ? 500 : 64, failOnRevert: false },
    },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
  },
});
