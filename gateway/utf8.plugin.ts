import { isUtf8 } from "node:buffer";
import type { GatewayPlugin } from "@graphql-hive/gateway-runtime";
import { GraphQLError } from "graphql";
import { ErrorCode } from "../src/errors.js";

/**
 * A POST body must be UTF-8, as JSON requires. Yoga decodes bodies leniently: bytes that are not UTF-8
 * (an encoded surrogate, a Latin-1 byte) became U+FFFD, and the hub stored text the client never sent.
 * The body's bytes are checked first (natively, without decoding them), then handed to Yoga's own
 * parser unchanged.
 */
export function useUtf8Bodies(): GatewayPlugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (request.method !== "POST" || !requestParser) return;
      setRequestParser(async (req) => {
        const bytes = await req.arrayBuffer();
        if (!isUtf8(bytes)) {
          throw new GraphQLError("request body is not valid UTF-8", { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } });
        }
        return requestParser(new fetchAPI.Request(req.url, { method: "POST", headers: req.headers, body: bytes }));
      });
    },
  };
}
