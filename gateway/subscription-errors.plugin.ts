import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import type { ExecutionResult } from "graphql";

/** An error on the subscription's root field itself (path of length 1). */
const atRootField = (result: ExecutionResult) => result.errors?.some((e) => e.path?.length === 1) ?? false;

/**
 * When a subgraph ends a subscription with an error on its root field (a token that expired, a cursor
 * past retention), the gateway's final result carried the previous event's data beside the error, and
 * a client took it for a second delivery of that event. The root field is non-null, so by the GraphQL
 * spec that result's data is null: this makes it so.
 */
export function useNoDataBesideRootErrors(): GatewayPlugin {
  return {
    onSubscribe() {
      return {
        onSubscribeResult() {
          return {
            onNext({ result, setResult }) {
              if (result.data && atRootField(result)) setResult({ ...result, data: null });
            },
          };
        },
      };
    },
  };
}
