import type { AuthChecker } from "type-graphql";
import { hasScope, type Scope } from "../auth/viewer.js";
import { forbidden } from "../errors.js";
import type { Context } from "./context.js";

/** `@Authorized("indicators:read")`: every listed scope is needed. The error names the missing one. */
export const scopeAuthChecker: AuthChecker<Context> = ({ context }, roles) => {
  for (const scope of roles) {
    if (!hasScope(context.viewer, scope as Scope)) throw forbidden(`this operation needs the scope '${scope}'`);
  }
  return true;
};

export function requireScope(context: Pick<Context, "viewer">, scope: Scope): void {
  if (!hasScope(context.viewer, scope)) throw forbidden(`this operation needs the scope '${scope}'`);
}
