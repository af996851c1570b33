/**
 * Merkle trees over a batch's leaves, in OpenZeppelin's layout with sorted-pair keccak hashing:
 * roots equal `SimpleMerkleTree.of(leaves, { sortLeaves: false }).root` and proofs verify with
 * `MerkleProof.verify` / `verifyCalldata`.
 *
 * Leaves stay in callSeq order (leaf i is callSeq `firstCallSeq + i`); they are never sorted, so a
 * validator can rebuild the tree from the receipts alone. Sorted-pair proofs do not encode the
 * position: a leaf's callSeq is bound by its content (receipts and void leaves both hash callSeq).
 *
 * Second preimages: {@link verifyProof} accepts any 32 bytes as "leaf", including an inner node
 * (the hash of a 64-byte pair of children), and the proof from there to the root is valid. This is
 * harmless only because real leaves are double-hashed struct hashes (`keccak256(keccak256(abi.encode
 * (...)))`): nobody can produce a receipt whose leaf equals an inner node. So contracts must hash
 * the receipt (or void) themselves with `Hashing.leaf(Hashing.hashReceipt(r))` and never accept a
 * caller-supplied leaf as proof that a receipt was settled.
 */
import type { Hex } from "viem";
import { bytesToHex32, writeHex } from "./hashing.js";
import { createKeccakWasm } from "./wasm/keccak.js";

/** A built tree. `nodes` holds all 2n-1 nodes (32 bytes each) in OpenZeppelin order: root first. */
export interface MerkleTree {
  /** Number of leaves. */
  readonly count: number;
  /** Merkle root (`nodes[0..32)`). */
  readonly root: Hex;
  /** All nodes, flat; transferable to/from a worker thread (see {@link treeFromNodes}). */
  readonly nodes: Uint8Array;
  /** Leaf at `index` (callSeq `firstCallSeq + index`). */
  leaf(index: number): Hex;
  /** Inclusion proof of leaf `index`, leaf-to-root sibling order (OpenZeppelin `getProof`). */
  proof(index: number): Hex[];
  /** Same proof as concatenated 32-byte siblings. */
  proofBytes(index: number): Uint8Array;
}

// This thread's module for trees: its heap grows to the largest tree built, separate from the
// scratch that sdk/hashing.ts hashes receipts in.
const wasm = createKeccakWasm();

/** Sorted-pair hash of the 32-byte `x` and `y` into `out` (all may be the same array). */
function hashPairInto(x: Uint8Array, y: Uint8Array, out: Uint8Array): void {
  const mem = wasm.bytes;
  mem.set(x, wasm.base);
  mem.set(y, wasm.base + 32);
  wasm.hashPair(wasm.base, wasm.base + 32, wasm.base + 64);
  out.set(mem.subarray(wasm.base + 64, wasm.base + 96));
}

function makeTree(nodes: Uint8Array, count: number): MerkleTree {
  const size = 2 * count - 1;
  const leafPos = (index: number): number => {
    if (!Number.isInteger(index) || index < 0 || index >= count)
      throw new RangeError(`leaf index ${index} out of range 0..${count - 1}`);
    return size - 1 - index;
  };
  const siblings = (index: number): number[] => {
    const out: number[] = [];
    for (let p = leafPos(index); p > 0; p = (p - 1) >> 1) out.push(p % 2 === 1 ? p + 1 : p - 1);
    return out;
  };
  return {
    count,
    root: bytesToHex32(nodes, 0),
    nodes,
    leaf: (index) => bytesToHex32(nodes, leafPos(index) * 32),
    proof: (index) => siblings(index).map((s) => bytesToHex32(nodes, s * 32)),
    proofBytes(index) {
      const s = siblings(index);
      const out = new Uint8Array(32 * s.length);
      for (let i = 0; i < s.length; i++) out.set(nodes.subarray(s[i]! * 32, s[i]! * 32 + 32), 32 * i);
      return out;
    },
  };
}

/**
 * Builds the tree of `leaves` (flat `n*32` bytes, or bytes32 hex strings), in the given order.
 * Throws on zero leaves, like OpenZeppelin. A single leaf is its own root with an empty proof.
 */
export function buildTree(leaves: Uint8Array | readonly Hex[]): MerkleTree {
  const count = leaves instanceof Uint8Array ? leaves.length / 32 : leaves.length;
  if (!Number.isInteger(count) || count === 0) {
    throw new RangeError(
      `buildTree: expected a non-zero number of 32-byte leaves, got ${leaves instanceof Uint8Array ? `${leaves.length} bytes` : "0"}`,
    );
  }
  const size = 2 * count - 1;
  // Built in the module's heap (every inner node in one call), then copied out as the tree.
  wasm.reserveHeap(size * 32);
  const mem = wasm.bytes;
  const at = wasm.heap;
  // OpenZeppelin stores leaf i at node size-1-i (leaves reversed at the end of the array).
  if (leaves instanceof Uint8Array) {
    for (let i = 0; i < count; i++) mem.set(leaves.subarray(i * 32, i * 32 + 32), at + (size - 1 - i) * 32);
  } else {
    for (let i = 0; i < count; i++) writeHex(mem, at + (size - 1 - i) * 32, leaves[i]!, 32, `leaves[${i}]`);
  }
  wasm.hashInner(at, size - 1 - count);
  const nodes = mem.slice(at, at + size * 32);
  return makeTree(nodes, count);
}

/**
 * Wraps the `nodes` of a tree built elsewhere (e.g. transferred back from a worker thread).
 * Trusts the content: call {@link buildTree} on the leaves if they come from outside.
 */
export function treeFromNodes(nodes: Uint8Array): MerkleTree {
  const size = nodes.length / 32;
  if (!Number.isInteger(size) || size % 2 !== 1)
    throw new RangeError(`treeFromNodes: ${nodes.length} bytes is not 2n-1 nodes of 32 bytes`);
  return makeTree(nodes, (size + 1) / 2);
}

/** Root reached from `leaf` through `proof` with sorted-pair hashing (OpenZeppelin `processProof`). */
export function processProof(leaf: Hex | Uint8Array, proof: readonly (Hex | Uint8Array)[]): Hex {
  const acc = new Uint8Array(32);
  const sib = new Uint8Array(32);
  if (typeof leaf === "string") writeHex(acc, 0, leaf, 32, "leaf");
  else if (leaf.length === 32) acc.set(leaf);
  else throw new TypeError(`leaf: expected 32 bytes, got ${leaf.length}`);
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i]!;
    if (typeof p === "string") writeHex(sib, 0, p, 32, `proof[${i}]`);
    else if (p.length === 32) sib.set(p);
    else throw new TypeError(`proof[${i}]: expected 32 bytes, got ${p.length}`);
    hashPairInto(acc, sib, acc);
  }
  return bytesToHex32(acc);
}

/**
 * True when `proof` links `leaf` to `root` (OpenZeppelin `MerkleProof.verify`). Raw: it proves
 * any 32-byte node, so check a leaf you computed from a receipt, never one you were handed.
 */
export function verifyProof(root: Hex, leaf: Hex | Uint8Array, proof: readonly (Hex | Uint8Array)[]): boolean {
  return processProof(leaf, proof) === root.toLowerCase();
}
