import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

/** A server of the bench in its own process (see serve.ts). */
export interface Child {
  label: string;
  url: string;
  pid: number;
  process: ChildProcess;
  /** The server's memory as it reports it (after a full GC when it runs with --expose-gc). */
  memory(): Promise<ServerMemory>;
  stop(): Promise<void>;
}

export interface ServerMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Whether a full GC ran first (the server was started with --expose-gc). */
  collected: boolean;
}

const live = new Set<ChildProcess>();

/** Last resort: whatever happens to the bench, its children do not outlive it. */
process.on("exit", () => {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

const SERVE = join(dirname(fileURLToPath(import.meta.url)), "serve.js");

export async function startChild(label: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, SERVE, ...args], {
    env: { ...process.env, ...env },
    // The IPC channel carries memory reports only (serve.ts answers {type: "memory"}).
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  live.add(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    stderr = (stderr + text).slice(-4000);
    // Warnings and errors of the servers, prefixed, so that nothing they say is lost.
    for (const line of text.split("\n")) if (line.trim()) process.stderr.write(`[${label}] ${line}\n`);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => {
    live.delete(child);
    resolve();
  }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 60 s\n${stderr}`)), 60_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: boolean; url?: string };
        if (msg.ready && msg.url) {
          clearTimeout(timer);
          resolve(msg.url);
          return;
        }
      } catch {
        // a log line, not the ready message
      }
      if (line.trim()) process.stderr.write(`[${label}] ${line}\n`);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}) before it was ready\n${stderr}`));
    });
  });
  return {
    label,
    url,
    pid: child.pid!,
    process: child,
    memory() {
      return new Promise<ServerMemory>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off("message", onMessage);
          reject(new Error(`${label} did not report its memory within 30 s`));
        }, 30_000);
        const onMessage = (msg: { type?: string } & ServerMemory) => {
          if (msg?.type !== "memory") return;
          clearTimeout(timer);
          child.off("message", onMessage);
          resolve({ rss: msg.rss, heapUsed: msg.heapUsed, heapTotal: msg.heapTotal, external: msg.external, collected: msg.collected });
        };
        child.on("message", onMessage);
        child.send({ type: "memory" });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 15_000).unref());
      if ((await Promise.race([exited, timeout])) === "timeout") {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
