/**
 * Published vectors for chunked OHTTP and the HPKE suites.
 *
 * PROVENANCE. `CHUNKED_EXAMPLE` is the Appendix "Example" of draft-ietf-ohai-chunked-ohttp-08
 * (18 February 2026; source github.com/ietf-wg-ohai/draft-ohai-chunked-ohttp at 5abd05c, the
 * commit of -08), copied byte for byte. `RFC9180_*` are from RFC 9180 Appendix A (the CFRG source,
 * github.com/cfrg/draft-irtf-cfrg-hpke): A.1 DHKEM(X25519)/HKDF-SHA256/AES-128-GCM and A.2
 * …/ChaCha20Poly1305 base mode in full; RFC 9180 has no X25519 + AES-256-GCM vector, so for
 * AES-256-GCM the AEAD steps of A.6 (DHKEM(P-521)/HKDF-SHA512/AES-256-GCM: the published key and
 * base nonce → the published ciphertexts) are checked, and the X25519 + HKDF-SHA256 key schedule
 * with that AEAD against @hpke/core. All are self-authenticating (AEAD tags).
 */
export const CHUNKED_EXAMPLE = {
  serverPrivateKey: "1c190d72acdbe4dbc69e680503bb781a932c70a12c8f3754434c67d8640d8698",
  keyConfig: "010020668eb21aace159803974a4c67f08b4152d29bed10735fd08f98ccdd6fe09570800080001000100010003",
  request: "00034745540568747470730b6578616d706c652e636f6d012f",
  ephemeralPrivateKey: "b26d565f3f875ed480d1abced3d665159650c99174fd0b124ac4bda0c64ae324",
  enc: "8811eb457e100811c40a0aa71340a1b81d804bb986f736f2f566a7199761a032",
  info: "6d6573736167652f6268747470206368756e6b656420726571756573740001002000010001",
  /** hdr ‖ enc, then three chunks: 12 bytes, 13 bytes, and the empty final one. */
  encapsulatedRequest: [
    "01002000010001",
    "8811eb457e100811c40a0aa71340a1b81d804bb986f736f2f566a7199761a032",
    "1c2ad24942d4d692563012f2980c8fef437a336b9b2fc938ef77a5834f",
    "1d2e33d8fd25577afe31bd1c79d094f76b6250ae6549b473ecd950501311",
    "001c6c1395d0ef7c1022297966307b8a7f",
  ],
  requestChunks: [12, 13, 0],
  response: "0140c8",
  /** Export("message/bhttp chunked response", 16) */
  exportedSecret: "1d4484834ae36102a6ac42a5523454d9",
  responseNonce: "bcce7f4cb921309ba5d62edf1769ef09",
  prk: "3967884b5f7b4bce4a5320a3e3f79fdc97389f7deba1c1e11c5ea62278187786",
  aeadKey: "8209f78f2a1610d80c7125009b00aff0",
  aeadNonce: "fead854635d2d5527d64f546",
  /** response_nonce, then three chunks: 1 byte, 2 bytes, and the empty final one. */
  encapsulatedResponse: [
    "bcce7f4cb921309ba5d62edf1769ef09",
    "1179bf1cc87fa0e2c02de4546945aa3d1e48",
    "12b348b5bd4c594c16b6170b07b475845d1f32",
    "00ed9d8a796617a5b27265f4d73247f639",
  ],
  responseChunks: [1, 2, 0],
  chunkNonces: ["fead854635d2d5527d64f546", "fead854635d2d5527d64f547", "fead854635d2d5527d64f544"],
} as const;

const PT = "4265617574792069732074727574682c20747275746820626561757479";
const INFO = "4f6465206f6e2061204772656369616e2055726e";

export interface HpkeVector {
  aeadId: number;
  info: string;
  skEm: string;
  skRm: string;
  pkRm: string;
  enc: string;
  key: string;
  baseNonce: string;
  exporterSecret: string;
  encryptions: { seq: number; pt: string; aad: string; ct: string }[];
  /** Export("", 32) */
  exported: string;
}

/** RFC 9180 A.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode. */
export const RFC9180_A1: HpkeVector = {
  aeadId: 1,
  info: INFO,
  skEm: "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
  skRm: "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
  pkRm: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
  enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  key: "4531685d41d65f03dc48f6b8302c05b0",
  baseNonce: "56d890e5accaaf011cff4b7d",
  exporterSecret: "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
  encryptions: [
    {
      seq: 0,
      pt: PT,
      aad: "436f756e742d30",
      ct: "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
    },
    {
      seq: 1,
      pt: PT,
      aad: "436f756e742d31",
      ct: "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84",
    },
    {
      seq: 2,
      pt: PT,
      aad: "436f756e742d32",
      ct: "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180",
    },
  ],
  exported: "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee",
};

/** RFC 9180 A.2: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode. */
export const RFC9180_A2: HpkeVector = {
  aeadId: 3,
  info: INFO,
  skEm: "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",
  skRm: "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
  pkRm: "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
  enc: "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
  key: "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91",
  baseNonce: "5c4d98150661b848853b547f",
  exporterSecret: "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922",
  encryptions: [
    {
      seq: 0,
      pt: PT,
      aad: "436f756e742d30",
      ct: "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
    },
    {
      seq: 1,
      pt: PT,
      aad: "436f756e742d31",
      ct: "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c",
    },
    {
      seq: 2,
      pt: PT,
      aad: "436f756e742d32",
      ct: "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b",
    },
  ],
  exported: "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e",
};

/** RFC 9180 A.6 (P-521 / HKDF-SHA512 / AES-256-GCM): the AEAD part only — key, base nonce, ciphertexts. */
export const RFC9180_A6_AEAD = {
  aeadId: 2,
  key: "751e346ce8f0ddb2305c8a2a85c70d5cf559c53093656be636b9406d4d7d1b70",
  baseNonce: "55ff7a7d739c69f44b25447b",
  encryptions: [
    {
      seq: 0,
      pt: PT,
      aad: "436f756e742d30",
      ct: "170f8beddfe949b75ef9c387e201baf4132fa7374593dfafa90768788b7b2b200aafcc6d80ea4c795a7c5b841a",
    },
    {
      seq: 1,
      pt: PT,
      aad: "436f756e742d31",
      ct: "d9ee248e220ca24ac00bbbe7e221a832e4f7fa64c4fbab3945b6f3af0c5ecd5e16815b328be4954a05fd352256",
    },
    {
      seq: 2,
      pt: PT,
      aad: "436f756e742d32",
      ct: "142cf1e02d1f58d9285f2af7dcfa44f7c3f2d15c73d460c48c6e0e506a3144bae35284e7e221105b61d24e1c7a",
    },
  ],
};
