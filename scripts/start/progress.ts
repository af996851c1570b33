/** Terminal progress for `npm start`: one line per step, and a redrawn bar for long work. */
const tty = process.stdout.isTTY === true;

/** Runs one start-up step, printing its name, time taken and outcome. */
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  process.stdout.write(`  • ${name} … `);
  try {
    const result = await fn();
    process.stdout.write(`done (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    return result;
  } catch (e) {
    process.stdout.write("FAILED\n");
    throw e;
  }
}

/** A progress bar redrawn in place on a terminal, or printed every 10% when output is a file/pipe. */
export function progressBar(label: string, total: number) {
  const width = 30;
  let lastDecile = -1;
  const t0 = Date.now();
  const draw = (done: number, note: string, end = false) => {
    const frac = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(frac * width);
    const line = `  ${label.padEnd(16)} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total} ${((Date.now() - t0) / 1000).toFixed(1)}s ${note}`;
    if (tty) process.stdout.write(`\r${line}\x1b[K${end ? "\n" : ""}`);
    else {
      const decile = Math.floor(frac * 10);
      if (end || decile > lastDecile) {
        lastDecile = decile;
        process.stdout.write(`${line}\n`);
      }
    }
  };
  return {
    update: (done: number, note = "") => draw(done, note),
    finish: (note = "") => draw(total, note, true),
  };
}

/** A one-line event (e.g. a re-attestation) printed between progress lines, on its own line. */
export function note(line: string): void {
  process.stdout.write(`${tty ? "\r\x1b[K" : ""}  ${line}\n`);
}
