import { spawn, type ChildProcess } from "node:child_process";
import { projectRoot } from "../../src/paths.js";

/** `npm start`'s entry point (dist/app/start.js) in a child process, as an operator runs it. */
export interface HubProcess {
  proc: ChildProcess;
  /** host:port of the gateway, from the line it prints when it is up. */
  address: string;
  /** stdout and stderr so far. */
  output: () => string;
  /** Resolves with the exit code (null after a signal) once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts the hub with `env` over the test process's environment; resolves when it says it is up. */
export async function startHubProcess(env: Record<string, string | undefined>): Promise<HubProcess> {
  const proc = spawn(process.execPath, ["dist/app/start.js"], {
    cwd: projectRoot(),
    env: { ...process.env, NODE_ENV: "development", PORT: "0", SUBGRAPH_PORT_BASE: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const up = /Watchfloor is up: http:\/\/([^/\s]+)\/graphql/.exec(output);
      if (up) resolve(up[1]!);
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then((code) => reject(new Error(`the hub exited (${code}) before it was up:\n${output}`)));
  });
  return { proc, address, output: () => output, exited };
}

/** SIGTERM, then the exit code once it has stopped. */
export async function stopHubProcess(hub: HubProcess | undefined): Promise<number | null> {
  if (!hub) return null;
  if (hub.proc.exitCode === null && hub.proc.signalCode === null) hub.proc.kill("SIGTERM");
  return hub.exited;
}
