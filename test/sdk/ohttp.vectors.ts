/**
 * Published test vectors for sdk/ohttp.
 *
 * PROVENANCE. Every constant in `RFC9458_APPENDIX_A` and `RFC9292_*` is taken from the RFC text
 * (RFC 9458 Appendix A "Complete Example of a Request and Response"; RFC 9292 §5.1 "Request
 * Example"). They were typed in from knowledge of the RFCs and then cross-checked, byte for byte,
 * against independent copies of the same vectors in public OHTTP implementations' test suites
 * (e.g. Google quiche `oblivious_http` tests, which cite rfc9458.html#appendix-A) and the
 * binary-http draft source for the RFC 9292 figure. They are also self-authenticating: the
 * encapsulated request and response carry AES-GCM tags, so a single wrong byte in the key,
 * the ciphertexts, `info` or the exported secret makes the tests fail rather than pass.
 *
 * Nothing here is a live key: the RFC's private keys are public example values.
 */

/** RFC 9458 Appendix A: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, key id 1. */
export const RFC9458_APPENDIX_A = {
  /** A.1 gateway X25519 private key skR. */
  serverPrivateKey: "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a",
  /** pkR, as it appears inside the key config. */
  serverPublicKey: "31e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e798155",
  /**
   * The key config: key id 01, KEM 0020, pkR, algorithms length 0008,
   * (HKDF-SHA256 0001, AES-128-GCM 0001), (HKDF-SHA256 0001, ChaCha20Poly1305 0003).
   */
  keyConfig:
    "01" +
    "0020" +
    "31e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e798155" +
    "0008" +
    "00010001" +
    "00010003",
  keyId: 1,
  /** The binary HTTP request for "GET https://example.com/" (known length, truncated after the control data). */
  request: "00034745540568747470730b6578616d706c652e636f6d012f",
  /** Client ephemeral X25519 private key skE. */
  ephemeralPrivateKey: "bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73",
  /** enc = pkE */
  enc: "4b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b472",
  /** hdr = key_id ‖ kem_id ‖ kdf_id ‖ aead_id */
  header: "01002000010001",
  /** "message/bhttp request" ‖ 0x00 ‖ hdr */
  info: "6d6573736167652f626874747020726571756573740001002000010001",
  /** hdr ‖ enc ‖ ct */
  encapsulatedRequest:
    "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad1" +
    "9dec96c208b4726374e469135906992e1268c594d2a10c695d858c40a026e796" +
    "5e7d86b83dd440b2c0185204b4d63525",
  /** The binary HTTP response: status 200, no fields, no content (truncated). */
  response: "0140c8",
  /** context.Export("message/bhttp response", 16) */
  exportedSecret: "62d87a6ba569ee81014c2641f52bea36",
  responseNonce: "c789e7151fcba46158ca84b04464910d",
  /** aead_key = Expand(prk, "key", 16) */
  aeadKey: "5d0172a080e428b16d298c4ea0db620d",
  /** aead_nonce = Expand(prk, "nonce", 12) */
  aeadNonce: "f6bf1aeb88d6df87007fa263",
  /** response_nonce ‖ ct */
  encapsulatedResponse: "c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f857fbd",
} as const;

/**
 * RFC 9292 §5.1, "Known-Length Binary Encoding of Request" (the figure's hex dump, row by row):
 *   GET /hello.txt  (scheme https, empty authority)
 *   user-agent: curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3
 *   host: www.example.com
 *   accept-language: en, mi
 * followed by a zero content length and an empty trailer section.
 */
export const RFC9292_KNOWN_LENGTH_REQUEST = [
  "00034745 54056874 74707300 0a2f6865",
  "6c6c6f2e 74787440 6c0a7573 65722d61",
  "67656e74 34637572 6c2f372e 31362e33",
  "206c6962 6375726c 2f372e31 362e3320",
  "4f70656e 53534c2f 302e392e 376c207a",
  "6c69622f 312e322e 3304686f 73740f77",
  "77772e65 78616d70 6c652e63 6f6d0f61",
  "63636570 742d6c61 6e677561 67650665",
  "6e2c206d 690000",
]
  .join("")
  .replace(/\s/g, "");

/** RFC 9292 §5.1, the same request in the indeterminate-length form (framing indicator 2), with 10 bytes of padding. */
export const RFC9292_INDETERMINATE_LENGTH_REQUEST = [
  "02034745 54056874 74707300 0a2f6865",
  "6c6c6f2e 7478740a 75736572 2d616765",
  "6e743463 75726c2f 372e3136 2e33206c",
  "69626375 726c2f37 2e31362e 33204f70",
  "656e5353 4c2f302e 392e376c 207a6c69",
  "622f312e 322e3304 686f7374 0f777777",
  "2e657861 6d706c65 2e636f6d 0f616363",
  "6570742d 6c616e67 75616765 06656e2c",
  "206d6900 00000000 00000000 00000000",
]
  .join("")
  .replace(/\s/g, "");
