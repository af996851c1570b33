/**
 * Child process: the DA service (./daService.ts) in a process of its own, which a deployment can
 * pin to a core of its own (`DaServerOptions.cpus`) so hostile DA traffic competes with the fast
 * path for neither its event loop nor its CPU, nor its GC. It holds no key: a receipt's signature
 * is asked of the gateway process over IPC, whose signer signs only what the store holds durably;
 * whether a callSeq it lacks was handed out is asked there too. It exits when the gateway process
 * is gone (the IPC channel closes), so a killed gateway leaves no DA process behind. Started by
 * ./daServer.ts (`startDaServer(hook, { process: true })`).
 */
import { startDaService, type DaServiceConfig, type DaWorkerStats, type SignerAnswer } from "./daService.js";

/** Gateway → DA process. */
export type DaProcessRequest =
  | { init: DaServiceConfig }
  | { signed: SignerAnswer }
  | { issued: number }
  | { stats: true }
  | { close: true };
/** DA process → gateway. */
export type DaProcessEvent =
  | { ready: number }
  | { sign: { id: number; callSeq: number } }
  | { issued: true }
  | { stats: DaWorkerStats }
  | { closed: true };

if (!process.send) throw new Error("daProcess: start it with an IPC channel (startDaServer(hook, { process: true }))");
const send = (m: DaProcessEvent) => process.send!(m);
// The gateway is gone (exited, killed, crashed): nobody is left to sign or to ask; neither is this process.
process.on("disconnect", () => process.exit(0));

/**
 * The hook's next callSeq as last heard, and asks for a fresh one: a callSeq at or above it may
 * have been handed out since. One ask in flight at most, and one queued behind it for callers that
 * came after it was sent (its answer could predate them): strangers' misses cost the gateway's
 * loop one tiny message per round trip, however many they send.
 */
let known = 0;
let inFlight: { promise: Promise<number>; resolve: (n: number) => void } | undefined;
let queued: Promise<number> | undefined;
function ask(): Promise<number> {
  let resolve!: (n: number) => void;
  const promise = new Promise<number>((r) => (resolve = r));
  inFlight = { promise, resolve };
  send({ issued: true });
  return promise;
}
function fresh(): Promise<number> {
  if (!inFlight) return ask();
  queued ??= inFlight.promise.then(() => {
    queued = undefined;
    return fresh();
  });
  return queued;
}

let service: Awaited<ReturnType<typeof startDaService>> | undefined;
process.on("message", async (m: DaProcessRequest) => {
  if ("init" in m) {
    service = await startDaService(m.init, {
      sign: (s) => send({ sign: s }),
      issued: (callSeq) => callSeq < known || fresh().then(() => callSeq < known),
    });
    send({ ready: service.port });
  } else if ("signed" in m) service?.signed(m.signed);
  else if ("issued" in m) {
    known = Math.max(known, m.issued);
    const p = inFlight;
    inFlight = undefined;
    p?.resolve(known);
  } else if ("stats" in m) {
    if (service) send({ stats: service.stats() });
  } else {
    service?.signerClosed();
    await service?.close();
    send({ closed: true });
    process.disconnect();
  }
});
