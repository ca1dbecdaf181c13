import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

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
