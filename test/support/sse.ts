/**
 * A GraphQL subscription over Server-Sent Events, as a browser or curl opens one at the gateway (POST
 * with `accept: text/event-stream`): each `next` payload as it arrives (raw and parsed), the root
 * field's values, the GraphQL errors, and whether the stream has ended.
 */
export async function subscribeSse<E>(url: string, token: string, body: { query: string; variables?: Record<string, unknown> }) {
  const abort = new AbortController();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  const state = { raw: [] as string[], events: [] as E[], errors: [] as any[], ended: false };
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = message.split("\n");
        const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim();
        const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (event === "next" && data) {
          state.raw.push(data);
          const payload = JSON.parse(data) as { data?: Record<string, E>; errors?: unknown[] };
          if (payload.errors) state.errors.push(...payload.errors);
          if (payload.data) state.events.push(Object.values(payload.data)[0]!);
        }
        if (event === "complete") state.ended = true;
      }
    }
  })()
    .catch((err) => {
      if (!abort.signal.aborted) state.errors.push(err);
    })
    .finally(() => {
      state.ended = true;
    });
  return {
    res,
    state,
    async stop() {
      abort.abort();
      await reading;
    },
  };
}
