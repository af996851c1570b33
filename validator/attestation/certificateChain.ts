import { X509Certificate, createHash } from "node:crypto";
import type { Hex } from "viem";
import { equalBytes, hex, plainBytes } from "./bytes.js";
import {
  AttestationCertificateChainError,
  AttestationCertificateExpiredError,
  AttestationCertificateNotYetValidError,
  AttestationInvalidParameterError,
} from "./errors.js";

/** A trusted root certificate: PEM text, or DER bytes. */
export type TrustedRoot = string | Uint8Array;

/** One certificate of a verified chain. */
export type CertificateSummary = {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER encoding. */
  sha256: Hex;
};

export type VerifiedCertificateChain = {
  /** Root first, signing (leaf) certificate last. */
  certificates: CertificateSummary[];
  /** The signing certificate, whose key must have signed the COSE message. */
  leaf: X509Certificate;
};

/** SHA-256 fingerprint of DER bytes, as lower-case hex. */
export function sha256Fingerprint(der: Uint8Array): Hex {
  return hex(createHash("sha256").update(der).digest());
}

/** Formats a fingerprint the way OpenSSL prints it: `64:1A:03:21:…`. */
export function formatFingerprint(fingerprint: Hex): string {
  return (fingerprint.slice(2).toUpperCase().match(/../g) ?? []).join(":");
}

/** A root certificate file's contents as a {@link TrustedRoot}: PEM text when it holds a PEM block, else DER bytes. */
export function trustedRootFromFile(contents: Uint8Array): TrustedRoot {
  const text = Buffer.from(contents).toString("latin1");
  return text.includes("-----BEGIN CERTIFICATE-----") ? text : contents;
}

/**
 * Parses a trusted root given as PEM (one certificate) or DER, and returns its DER bytes.
 *
 * @throws {AttestationInvalidParameterError} not a certificate.
 */
export function trustedRootDer(root: TrustedRoot): Uint8Array {
  try {
    if (typeof root === "string") {
      const pem = root.trim();
      if (!pem.startsWith("-----BEGIN CERTIFICATE-----")) throw new Error("expected a PEM certificate");
      return plainBytes(new X509Certificate(pem).raw);
    }
    if (!(root instanceof Uint8Array)) throw new Error("expected PEM text or DER bytes");
    const cert = new X509Certificate(root);
    if (cert.raw.length !== root.length) throw new Error("trailing bytes after the DER certificate");
    return plainBytes(root);
  } catch (cause) {
    throw new AttestationInvalidParameterError({
      parameter: "trustedRoot",
      reason: "not a parsable X.509 certificate",
      cause,
    });
  }
}

function oneLine(name: string): string {
  return name.split("\n").filter(Boolean).join(", ");
}

function parseDer(der: Uint8Array, what: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (cause) {
    throw new AttestationCertificateChainError({ reason: `${what} is not a parsable X.509 certificate`, cause });
  }
  if (cert.raw.length !== der.length) {
    throw new AttestationCertificateChainError({ reason: `${what} has trailing bytes after its DER encoding` });
  }
  return cert;
}

function validity(cert: X509Certificate): { notBefore: Date; notAfter: Date } {
  // `validFromDate` exists from Node 22.10; older Nodes only have the string form.
  const c = cert as X509Certificate & { validFromDate?: Date; validToDate?: Date };
  return {
    notBefore: c.validFromDate ?? new Date(cert.validFrom),
    notAfter: c.validToDate ?? new Date(cert.validTo),
  };
}

/**
 * Verifies the document's certificate chain: `cabundle[0]` is the trusted root (byte for byte),
 * every following certificate is issued and signed by the one before it (the issuers being CA
 * certificates), the signing certificate is issued by the last `cabundle` entry, and every
 * certificate's validity window contains `at`.
 *
 * @throws {AttestationCertificateChainError} wrong root, broken link or unparsable certificate.
 * @throws {AttestationCertificateExpiredError} a certificate's notAfter is before `at`.
 * @throws {AttestationCertificateNotYetValidError} a certificate's notBefore is after `at`.
 */
export function verifyCertificateChain({
  certificate,
  cabundle,
  trustedRoot,
  at,
}: {
  certificate: Uint8Array;
  cabundle: readonly Uint8Array[];
  trustedRoot: Uint8Array;
  at: Date;
}): VerifiedCertificateChain {
  const rootDer = cabundle[0];
  if (rootDer === undefined) throw new AttestationCertificateChainError({ reason: "the CA bundle is empty" });
  if (!equalBytes(rootDer, trustedRoot)) {
    throw new AttestationCertificateChainError({
      reason:
        `the bundle's root (SHA-256 ${formatFingerprint(sha256Fingerprint(rootDer))}) is not the trusted root ` +
        `(SHA-256 ${formatFingerprint(sha256Fingerprint(trustedRoot))})`,
    });
  }

  const ders = [...cabundle, certificate];
  const certs = ders.map((der, i) =>
    parseDer(der, i === ders.length - 1 ? "the signing certificate" : `cabundle[${i}]`),
  );

  // Links first: a forged or broken chain is reported as such even when it is also out of date.
  for (let i = 1; i < certs.length; i++) {
    const issuer = certs[i - 1]!;
    const cert = certs[i]!;
    const what = i === certs.length - 1 ? "the signing certificate" : `cabundle[${i}]`;
    if (!issuer.ca) {
      throw new AttestationCertificateChainError({
        reason: `cabundle[${i - 1}] ("${oneLine(issuer.subject)}") is not a CA certificate but issues ${what}`,
      });
    }
    let signed: boolean;
    try {
      signed = cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    } catch (cause) {
      throw new AttestationCertificateChainError({ reason: `${what} could not be checked against its issuer`, cause });
    }
    if (!signed) {
      throw new AttestationCertificateChainError({
        reason: `${what} ("${oneLine(cert.subject)}") is not issued and signed by cabundle[${i - 1}] ("${oneLine(issuer.subject)}")`,
      });
    }
  }

  const summaries = certs.map((cert, i): CertificateSummary => {
    const { notBefore, notAfter } = validity(cert);
    const subject = oneLine(cert.subject);
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
      throw new AttestationCertificateChainError({
        reason: `certificate "${subject}" has an unreadable validity period`,
      });
    }
    if (at.getTime() < notBefore.getTime())
      throw new AttestationCertificateNotYetValidError({ subject, notBefore, at });
    if (at.getTime() > notAfter.getTime()) throw new AttestationCertificateExpiredError({ subject, notAfter, at });
    return {
      subject,
      issuer: oneLine(cert.issuer),
      serialNumber: cert.serialNumber,
      notBefore,
      notAfter,
      sha256: sha256Fingerprint(ders[i]!),
    };
  });

  return { certificates: summaries, leaf: certs[certs.length - 1]! };
}
