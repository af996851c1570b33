/**
 * `proofpath host-store`: the enclave's durable store, run on the parent instance. Serves the
 * host-store protocol (gateway/hoststore/) on a Unix socket (forwarded to vsock in production) or a
 * loopback TCP port, and keeps each enclave's signed log under --dir.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../cliErrors.js";

const HELP = `Usage: proofpath host-store --dir <DIR> (--socket <PATH> | --port <N> [--host <ADDR>])

Runs the host store on the parent instance: the durable store of enclave gateways (hookConfig
hostStore.endpoint). Each enclave's group commits arrive as frames signed by the enclave key and are
acknowledged only after fsync; this process is not trusted (the enclave verifies its log at start).
In production the enclave reaches it over vsock through a forwarder, e.g. on the parent:
  socat VSOCK-LISTEN:7600,fork,reuseaddr UNIX-CONNECT:<PATH>

Options:
  --dir <DIR>        Folder of the logs (<DIR>/<gateway>.log), created if missing
  --socket <PATH>    Listen on this Unix socket
  --port <N>         Listen on this TCP port instead (0: any free port; printed)
  --host <ADDR>      TCP address to bind (default 127.0.0.1)
  -h, --help         Show this help

Prints "listening <endpoint>" once ready; stops on SIGINT/SIGTERM. Exit codes: 0 stopped, 2 usage error.
`;

export async function hostStoreCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: "string" },
      socket: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.dir) throw new UsageError("--dir is required");
  if (!values.socket === (values.port === undefined)) throw new UsageError("give --socket or --port (one of them)");
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535))
    throw new UsageError(`--port ${values.port} is not a port number`);
  const [{ HostStoreServer }, { default: pino }] = await Promise.all([
    import("../../gateway/hoststore/server.js"),
    import("pino"),
  ]);
  const log = pino({ name: "proofpath-host-store" });
  const server = await HostStoreServer.listen({
    dir: values.dir,
    ...(values.socket ? { socket: values.socket } : {}),
    ...(port !== undefined ? { port, host: values.host ?? "127.0.0.1" } : {}),
    log,
  });
  process.stdout.write(`listening ${server.endpoint}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
  return 0;
}
