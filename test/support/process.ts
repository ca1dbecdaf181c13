import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, connect, type AddressInfo, type Server as TcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDevKeys, mintDevToken } from "../../src/auth/dev-keys.js";
import type { OrgKind } from "../../src/auth/viewer.js";
import { projectRoot } from "../../src/paths.js";
import { sleep } from "./wait.js";

/** A process of the hub started from dist/ (run `tsc -b .` first), as an operator starts it. */
export interface HubProcess {
  child: ChildProcess;
  /** Its GraphQL URL, from its "listening" log line. */
  url: string;
  dataDir: string;
  /** Everything it wrote, stdout and stderr. */
  output(): string;
  /** Its JSON log lines. */
  logLines(): Record<string, unknown>[];
  token(org: string, kind: OrgKind, scopes: string[]): Promise<string>;
  /** Sends the signal and resolves with the exit code. */
  signal(signal: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * `node dist/app/serve.js <part>` with these settings: the gateway alone (subgraphs from SUBGRAPH_URLS;
 * no database), or one subgraph. Resolves once it listens.
 */
export async function spawnPart(part: string, env: Record<string, string> | ((dataDir: string) => Record<string, string>)): Promise<HubProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "watchfloor-proc-"));
  await ensureDevKeys(dataDir);
  const settings = typeof env === "function" ? env(dataDir) : env;
  const child = spawn(process.execPath, [join(projectRoot(), "dist/app/serve.js"), part], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: "0", SUBGRAPH_PORT_BASE: "0", LOG_LEVEL: "info", NODE_ENV: "test", ...settings },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logLines = () =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const deadline = Date.now() + 60_000;
  let url = "";
  while (!url) {
    if (child.exitCode !== null) throw new Error(`${part} exited at start:\n${out}`);
    if (Date.now() > deadline) throw new Error(`${part} did not start:\n${out}`);
    url = String(logLines().find((l) => l.msg === "gateway listening" || l.msg === "subgraph listening")?.url ?? "");
    if (!url) await sleep(50);
  }
  return {
    child,
    url,
    dataDir,
    output: () => out,
    logLines,
    token: (org, kind, scopes) => mintDevToken(dataDir, { org, kind, scopes }),
    signal(signal) {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    exited,
  };
}

/** A stand-in for a subgraph: answers each request with whatever `handle` does at the time. */
export interface FakeSubgraph {
  url: string;
  server: Server;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Stops listening (connections to it are refused) until `listen` again, on the same port. */
  close(): Promise<void>;
  listen(): Promise<void>;
}

/** A stand-in for a subgraph: answers each request with whatever `handle` does at the time. */
export async function fakeSubgraph(): Promise<FakeSubgraph> {
  let port = 0;
  const server = createServer((req, res) => fake.handle(req, res));
  const fake: FakeSubgraph = {
    url: "",
    server,
    handle: (_req, res) => void res.writeHead(500).end(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    listen: () => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve)),
  };
  await fake.listen();
  port = (server.address() as AddressInfo).port;
  fake.url = `http://127.0.0.1:${port}/graphql`;
  return fake;
}

/** A URL where nothing listens: a port bound a moment ago and released. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/graphql`;
}

/** A TCP proxy in front of a server (a subgraph, PostgreSQL): `cut` drops every connection and refuses new ones until `restore`. */
export async function tcpProxy(target: string) {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxyPort = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${proxyPort}/graphql`,
    port: proxyPort,
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    restore: () => new Promise<void>((resolve) => server.listen(proxyPort, "127.0.0.1", resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}
