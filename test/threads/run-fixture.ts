// Runs a fixture script of test/threads/fixtures under plain `node --import tsx` in a child
// process, for tests of exit behaviour: its exit code, output and wall time.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

export interface FixtureRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runFixtureScript(name: string): Promise<FixtureRun> {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // Idle workers would be retired after 30 s: a process kept alive by them is killed well before.
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Each line the fixture printed on stdout, parsed as JSON (fixtures that report results as JSON lines). */
export function jsonLines(stdout: string): unknown[] {
  return stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
}
