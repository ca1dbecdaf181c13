import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { ExecutionResult, GraphQLError } from "graphql";
import { ErrorCode, expectedError, unauthenticated } from "../src/errors.js";
import type { GatewayAuthContext } from "./auth.plugin.js";

type Result = ExecutionResult;

function isAsyncIterable(value: unknown): value is AsyncIterable<Result> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}

/**
 * The source's events until `end` settles; then that error as a last result, and the source is closed.
 * An iterator rather than an async generator, so that a client leaving (`return`) closes the source at
 * once instead of after the source's next event.
 */
function endingWith(source: AsyncIterable<Result>, end: Promise<GraphQLError>, cleanup: () => void): AsyncIterableIterator<Result> {
  const upstream = source[Symbol.asyncIterator]();
  let finished = false;
  let stop!: () => void;
  const stopped = new Promise<IteratorResult<Result>>((resolve) => (stop = () => resolve({ done: true, value: undefined })));
  const ending = end.then((error) => ({ error }));
  const finish = () => {
    if (finished) return;
    finished = true;
    cleanup();
    stop();
    void upstream.return?.();
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return { done: true, value: undefined };
      const step = await Promise.race([upstream.next(), ending, stopped]);
      if ("error" in step) {
        finish();
        return { done: false, value: { errors: [step.error] } };
      }
      if (step.done) finish();
      return step;
    },
    async return() {
      finish();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      finish();
      throw err;
    },
  };
}

/**
 * SSE subscriptions end on the gateway's terms: at the token's expiry with UNAUTHENTICATED, as the
 * documentation says, and when the gateway stops with SERVICE_UNAVAILABLE (both: subscribe again with
 * the last cursor). Left to the upstream, an expired token's stream ended some 36 s late with
 * DOWNSTREAM_SERVICE_ERROR "undefined": Hive's graphql-ws client retries the socket a subgraph closes
 * with 4403. graphql-ws subscriptions end with their socket instead (4403 at expiry, 1001 at stop).
 */
export function useStreamEnds(stopping: AbortSignal): GatewayPlugin<GatewayAuthContext> {
  return {
    onSubscribe({ args }) {
      const context = args.contextValue as Partial<GatewayAuthContext> & { request?: Request };
      const viewer = context.viewer;
      if (!context.request || !viewer) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          let timer: NodeJS.Timeout | undefined;
          let onStop: (() => void) | undefined;
          const end = new Promise<GraphQLError>((resolve) => {
            const ms = Math.max(0, Math.min(viewer.validUntilMs - Date.now(), 2 ** 31 - 1));
            timer = setTimeout(() => resolve(unauthenticated("token expired: subscribe again with a new token and your last cursor")), ms);
            onStop = () =>
              resolve(expectedError(ErrorCode.SERVICE_UNAVAILABLE, "the gateway is stopping: subscribe again with the cursor of the last event you received"));
            if (stopping.aborted) onStop();
            else stopping.addEventListener("abort", onStop, { once: true });
          });
          setResult(
            endingWith(result, end, () => {
              clearTimeout(timer);
              stopping.removeEventListener("abort", onStop!);
            }),
          );
        },
      };
    },
  };
}
