import type { Client } from "graphql-ws";

/** An event of an indicator feed (`indicatorPublished`, `indicatorRevoked`), as far as tests select it. */
export interface IndicatorFeedEvent {
  cursor: string;
  indicator: { id?: string; value?: string; owner?: string; tlp?: string };
}

/**
 * One subscription's whole life: every raw payload, its events (the root field's value), its errors,
 * how it ended and how its socket closed.
 */
export function recordFeed<E extends { indicator: { value?: string } } = IndicatorFeedEvent>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const state = {
    payloads: [] as Record<string, E>[],
    events: [] as E[],
    errors: [] as any[],
    ended: false,
    close: undefined as { code: number; reason: string } | undefined,
  };
  client.on("closed", (event) => {
    const e = event as { code: number; reason: string };
    state.close ??= { code: e.code, reason: e.reason };
  });
  const stop = client.subscribe<Record<string, E>>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) state.errors.push(...value.errors);
        if (value.data) {
          state.payloads.push(value.data);
          state.events.push(Object.values(value.data)[0]!);
        }
      },
      error: (err) => {
        state.errors.push(err);
        state.ended = true;
      },
      complete: () => {
        state.ended = true;
      },
    },
  );
  const values = () => state.events.map((e) => e.indicator.value!);
  return { state, stop, values, has: (value: string) => values().includes(value) };
}
export type FeedRecording = ReturnType<typeof recordFeed<IndicatorFeedEvent>>;
