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
