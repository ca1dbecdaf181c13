import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { ExecutionResult } from "graphql";
import { ErrorCode } from "../src/errors.js";

/** The HTTP statuses of the Idempotency-Key draft, for a mutation a subgraph refused as a whole. */
const STATUS: Record<string, number> = {
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: 422,
  [ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS]: 409,
  [ErrorCode.BAD_REQUEST]: 400,
};

/**
 * A subgraph answers these refusals with the draft's status, but the gateway relays a subgraph's
 * errors in a 200 of its own. When the whole result is such a refusal (no data), the client gets the
 * status too, so that an HTTP client can tell a retryable 409 from a 422 without reading the body.
 */
export function useRefusalStatus(): GatewayPlugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as ExecutionResult;
      if (single.data != null || !single.errors?.length) return;
      const status = Math.max(0, ...single.errors.map((e) => STATUS[String(e.extensions?.code)] ?? 0));
      if (status) setResult({ ...single, extensions: { ...single.extensions, http: { status } } });
    },
  };
}
