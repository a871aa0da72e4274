// The real DER IQ server for the end-to-end tests: the embedded database (started,
// seeded when empty, the regulatory corpus ingested incrementally) and `deriq serve` on an
// ephemeral port.

import { spawn, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DERIQ = process.env.DERIQ_BIN || join(ROOT, "target", "debug", "deriq");

function deriq(args, { timeout = 600_000 } = {}) {
  return execFileSync(DERIQ, args, { cwd: ROOT, encoding: "utf8", timeout, stdio: ["ignore", "pipe", "pipe"] });
}

/** Builds deriq when missing, starts the databases, seeds an empty one, ingests the corpus. */
export function prepareDatabase() {
  if (!existsSync(DERIQ)) {
    execFileSync("cargo", ["build", "--quiet", "-p", "deriq-gateway", "--bin", "deriq"], { cwd: ROOT, stdio: "inherit" });
  }
  deriq(["db", "up"]);
  const users = JSON.parse(deriq(["users", "--json"]));
  if (users.length === 0) deriq(["db", "seed"]);
  // Incremental: about a second when the index is current, a few minutes the first time.
  deriq(["ingest"], { timeout: 1_200_000 });
}

/**
 * Starts `deriq serve` on 127.0.0.1:0 with extra arguments and environment; resolves to
 * { url, stop, log } once /readyz answers 200.
 */
export async function startServer({ args = [], env = {} } = {}) {
  const child = spawn(DERIQ, ["serve", "--addr", "127.0.0.1:0", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise((res) => child.once("exit", res));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  };
  let log = "";
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`deriq serve did not start within 120 s:\n${log}`)), 120_000);
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk) => {
        log += chunk;
        // The whole address: the line goes on after it, so a chunk cut inside the port cannot match.
        const m = /listening on (http:\/\/[0-9.]+:\d+) /.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`deriq serve exited with ${code}:\n${log}`));
      });
    });
    for (let i = 0; ; i++) {
      const r = await fetch(`${url}/readyz`).catch(() => null);
      if (r && r.ok) break;
      if (i === 100) throw new Error(`deriq serve at ${url} is not ready: ${r ? await r.text() : "no answer"}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    return { url, log: () => log, stop };
  } catch (e) {
    await stop(); // never leave a server behind (it would also keep the test run alive)
    throw e;
  }
}
