/**
 * The one transport of the host store: a stream socket to the parent instance. Production Nitro
 * enclaves reach the parent over vsock; Node has no vsock sockets and the one binding on the npm
 * registry (node-vsock-linux-x64-gnu 0.0.5, a single prebuilt x64 release, its parent package
 * unpublished) is not maintained, so the enclave talks to a Unix socket that a forwarder bridges to
 * vsock (`socat UNIX-LISTEN:… VSOCK-CONNECT:3:<port>` inside, `socat VSOCK-LISTEN:<port>
 * UNIX-CONNECT:…` on the parent, or the vsock-proxy of the Nitro CLI). Tests use a Unix socket or
 * loopback TCP directly. Anything that yields a `net.Socket`-like duplex fits (`connect`).
 */
import net from "node:net";
import type { Duplex } from "node:stream";
import { HostStoreUnavailableError } from "../errors.js";

/** Opens a connection to the host store: a duplex byte stream. */
export type HostConnect = () => Promise<Duplex>;

/**
 * `unix:/run/host.sock` or a path (Unix socket), `tcp:127.0.0.1:7600` (loopback TCP). `vsock:` is
 * refused with the forwarding to use instead.
 */
export function hostConnect(endpoint: string, timeoutMs = 10_000): HostConnect {
  let opts: net.NetConnectOpts;
  if (endpoint.startsWith("tcp:")) {
    const m = /^tcp:(.+):(\d+)$/.exec(endpoint);
    if (!m) throw new HostStoreUnavailableError(endpoint, "expected tcp:<host>:<port>");
    opts = { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  } else if (endpoint.startsWith("vsock:")) {
    throw new HostStoreUnavailableError(
      endpoint,
      "Node has no vsock sockets: forward a Unix socket to vsock (socat, see the README) and give unix:<path>",
    );
  } else opts = { path: endpoint.replace(/^unix:/, "") };
  return () =>
    new Promise((resolve, reject) => {
      const s = net.connect(opts);
      const timer = setTimeout(() => s.destroy(new Error(`no connection after ${timeoutMs} ms`)), timeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        s.setNoDelay?.(true);
        resolve(s);
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        reject(new HostStoreUnavailableError(endpoint, e.message));
      });
    });
}
