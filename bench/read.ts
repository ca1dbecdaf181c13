import autocannon from "autocannon";

/**
 * Reading: one query under load (autocannon, loopback, N connections), each connection with the token
 * of a different org. Every org sees a different answer (its own AMBER indicators shared with it, see
 * seed.ts), so nothing can be shared between callers, and the sampled answers prove that each
 * connection really carried its own token: `distinctViews` counts the different totalCounts seen.
 */

const TOTAL_COUNT = /"totalCount":(\d+)/;

export const READ_QUERY = "{ indicators(first: 20) { totalCount edges { node { id type value tlp confidence owner } } } }";

export interface ReadMeasure {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  seconds: number;
  non2xx: number;
  /** Connection errors and timeouts (autocannon's errors include timeouts). */
  errors: number;
  timeouts: number;
  /** Responses looked at (all of them: errors and totalCount by a string search). */
  checked: number;
  /** Of those, parsed in full (and checked for 20 edges). */
  sampled: number;
  /** 200 responses with GraphQL errors or without a totalCount, plus parsed ones without 20 edges. */
  graphqlErrors: number;
  distinctViews: number;
}

export interface LoadOptions {
  connections: number;
  /** Load for this long; requests still in flight at the end are abandoned (the server still answers them). */
  seconds: number;
  /** Instead of `seconds`: this many requests in all, spread over the connections, each one answered. */
  amount?: number;
  /** Parse one response in this many. */
  sampleEvery: number;
}

export async function runReadLoad(url: string, tokens: string[], options: LoadOptions): Promise<ReadMeasure> {
  if (tokens.length < options.connections) throw new Error(`need ${options.connections} tokens, have ${tokens.length}`);
  let nextToken = 0;
  let seen = 0;
  let sampled = 0;
  let graphqlErrors = 0;
  let shapeErrors = 0;
  const views = new Set<number>();
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.amount ? { amount: options.amount } : {}),
    timeout: 10,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: READ_QUERY }),
    // Each client (one per connection) gets its own org's token, set once when it is made.
    setupClient: (client) => {
      const token = tokens[nextToken++ % tokens.length]!;
      client.setHeaders({ "content-type": "application/json", authorization: `Bearer ${token}` });
    },
    requests: [
      {
        onResponse: (status, body) => {
          // Every answer: a cheap look for errors and for whose view it is; one in N parsed in full.
          const count = TOTAL_COUNT.exec(body);
          if (count) views.add(Number(count[1]));
          if (status === 200 && body.includes('"errors"')) graphqlErrors++;
          else if (status === 200 && !count) graphqlErrors++;
          if (seen++ % options.sampleEvery !== 0) return;
          sampled++;
          try {
            const json = JSON.parse(body);
            const conn = json?.data?.indicators;
            if (status === 200 && (json.errors?.length || !conn || conn.edges?.length !== 20)) shapeErrors++;
          } catch {
            if (status === 200) shapeErrors++;
          }
        },
      },
    ],
  });
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    seconds: result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    sampled,
    graphqlErrors: graphqlErrors + shapeErrors,
    checked: seen,
    distinctViews: views.size,
  };
}
