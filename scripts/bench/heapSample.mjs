/**
 * Preloaded into a Ponder process by `bench:ponder-variants` (HEAP_PROFILE_DIR): V8's sampling heap
 * profiler, keeping the samples of objects the GC has since collected, so the profile shows what a
 * run allocates (garbage included), not only what is live at its end: what the scavenger's work
 * follows. Written as <dir>/<pid>.heapprofile (Chrome DevTools' format) when the process exits.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.HEAP_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("HeapProfiler.enable");
  session.post("HeapProfiler.startSampling", {
    samplingInterval: 32_768,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post("HeapProfiler.stopSampling", (error, result) => {
      if (!error) writeFileSync(path.join(dir, `${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  };
  process.on("exit", write);
  process.prependListener("SIGTERM", write);
}
