import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { access, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type PythonVenv = { ok: true; python: string } | { ok: false; reason: string };

/**
 * A Python virtual environment with `packages` from PyPI, made once per machine in the temporary
 * directory and reused by later runs. When it cannot be made (no python3, PyPI out of reach) the
 * reason comes back instead, for the test to report itself skipped with it, never passed.
 */
export async function pythonVenv(packages: string[]): Promise<PythonVenv> {
  const dir = join(tmpdir(), `watchfloor-venv-${createHash("sha256").update(packages.join(" ")).digest("hex").slice(0, 12)}`);
  const python = join(dir, "bin", "python");
  const ready = join(dir, ".ready");
  if (await access(ready).then(() => true, () => false)) return { ok: true, python };
  try {
    await run("python3", ["-m", "venv", dir], { timeout: 60_000 });
  } catch (err) {
    return { ok: false, reason: `python3 -m venv failed: ${lastLine(err)}` };
  }
  try {
    await run(python, ["-m", "pip", "install", "--disable-pip-version-check", "--retries", "0", "--timeout", "15", "-q", ...packages], { timeout: 180_000 });
  } catch (err) {
    return { ok: false, reason: `pip install ${packages.join(" ")} failed: ${lastLine(err)}` };
  }
  await writeFile(ready, packages.join("\n"));
  return { ok: true, python };
}

function lastLine(err: unknown): string {
  const text = String((err as { stderr?: string }).stderr || (err as Error).message || err).trim();
  return text.split("\n").filter(Boolean).pop() ?? "no output";
}

/** Runs a Python script (given as text) in the venv; its stdout, parsed as JSON. */
export async function runPython(venv: { python: string }, script: string, args: string[], timeoutMs = 120_000): Promise<any> {
  const { stdout } = await run(venv.python, ["-c", script, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}
