/**
 * Which IP addresses a daURI may reach. A daURI is chosen by whoever holds an enclave key, so
 * without this a header could make every validator GET its cloud metadata service, its own admin
 * ports or the operator's intranet. Private, loopback, link-local, CGNAT, multicast and reserved
 * ranges are refused unless `daAllowPrivate` (local chains, tests, a DA on the validator's LAN).
 */
import { BlockList, isIP } from "node:net";

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  blocked.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96],
  ["2001:db8::", 32],
] as const)
  blocked.addSubnet(net, bits, "ipv6");

/** True when `ip` (v4 or v6 literal) is not a public unicast address. */
export function isPrivateAddress(ip: string): boolean {
  const host = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  const v = isIP(host);
  if (v === 4) return blocked.check(host, "ipv4");
  if (v === 6) {
    // An IPv4-mapped address (::ffff:a.b.c.d, also in hex form) reaches the IPv4 host.
    const mapped = /^::ffff:(?:0:)?(.+)$/i.exec(host)?.[1];
    if (mapped) {
      if (isIP(mapped) === 4) return blocked.check(mapped, "ipv4");
      const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(mapped);
      if (m) {
        const n = (parseInt(m[1]!, 16) << 16) | parseInt(m[2]!, 16);
        return blocked.check([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join("."), "ipv4");
      }
    }
    return blocked.check(host, "ipv6");
  }
  return false;
}
