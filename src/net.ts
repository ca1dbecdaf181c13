import type { Server } from "node:http";
import { createServer, type AddressInfo } from "node:net";

/** Listens (port 0: any free port) and answers the GraphQL URL actually bound. */
export async function listenForGraphQL(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return `http://${host}:${(server.address() as AddressInfo).port}/graphql`;
}

/**
 * Closes a graphql-ws socket (4403 "token expired") the moment its token stops being accepted, so
 * that nothing sent over it later runs on an expired token. Returns the cancel for when it closes.
 */
export function closeWhenTokenExpires(socket: { close(code: number, reason: string): void }, validUntilMs: number): () => void {
  const ms = Math.max(0, Math.min(validUntilMs - Date.now(), 2 ** 31 - 1));
  const timer = setTimeout(() => socket.close(4403, "Forbidden: token expired"), ms);
  return () => clearTimeout(timer);
}

/** A port this process is going to listen on, and the setting an operator changes to move it. */
export interface PlannedPort {
  host: string;
  port: number;
  setting: string;
  /** What listens there, for the message: "the gateway", "the directory subgraph, SUBGRAPH_PORT_BASE + 1". */
  what: string;
}

/** A port the process needs cannot be had: the operator's to fix, so the message is the whole report. */
export class PortUnavailableError extends Error {
  override name = "PortUnavailableError";
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/**
 * Checks that every port the process will listen on can be had, before any database work, so that a
 * port in use stops the start at once with a line naming the port and its setting (rather than after
 * the embedded PostgreSQL and the migrations, with a stack). Port 0 (any free port) is not checked.
 */
export async function assertPortsAvailable(ports: PlannedPort[]): Promise<void> {
  const problems: string[] = [];
  for (const p of ports.filter((p) => p.port !== 0)) {
    const err = await tryListen(p.host, p.port);
    if (!err) continue;
    const where = `${p.host}:${p.port} (${p.what})`;
    if (err.code === "EADDRINUSE") problems.push(`${p.setting}: ${where} is already in use by another process; stop it or set ${p.setting} to a free port`);
    else if (err.code === "EADDRNOTAVAIL") problems.push(`HOST: cannot listen on ${p.host}, which is not an address of this machine`);
    else if (err.code === "EACCES") problems.push(`${p.setting}: ${where} needs privileges this process does not have; set ${p.setting} to a port above 1023`);
    else problems.push(`${p.setting}: cannot listen on ${where} (${err.code ?? err.message})`);
  }
  if (problems.length) throw new PortUnavailableError([...new Set(problems)].join("\n"));
}
