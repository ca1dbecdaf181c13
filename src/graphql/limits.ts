import { costLimitRule } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  getNullableType,
  isInputObjectType,
  isListType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from "graphql";
import type { Config } from "../config.js";
import { badInput, ErrorCode } from "../errors.js";

/**
 * A refusal a client can act on: code LIMIT_EXCEEDED, and the limit named without the "Syntax Error"
 * prefix graphql-armor gives every refusal.
 */
export function markRefusal(_context: unknown, error: GraphQLError): void {
  error.message = error.message.replace(/^Syntax Error: /, "");
  (error.extensions as Record<string, unknown>).code = ErrorCode.LIMIT_EXCEEDED;
}

/** Reported as a validation error of the document, not thrown (a thrown one reads as a crash). */
const report = (context: ValidationContext | null, error: GraphQLError) => context?.reportError(error);

/**
 * The gateway's limits, enforced again at every subgraph for callers that reach a subgraph directly.
 * Twice as loose, so that what the gateway plans for an operation within its limits always passes.
 */
export function subgraphValidationRules(limits: Config["limits"]): ValidationRule[] {
  const options = { onReject: [markRefusal, report], propagateOnRejection: false };
  return [
    maxDepthRule({ n: limits.MAX_DEPTH * 2, flattenFragments: true, ...options }),
    maxAliasesRule({ n: limits.MAX_ALIASES * 2, allowList: [], ...options }),
    maxDirectivesRule({ n: limits.MAX_DIRECTIVES * 2, ...options }),
    costLimitRule({ maxCost: limits.MAX_COST * 2, ...options }),
  ] as unknown as ValidationRule[];
}

export const subgraphMaxTokens = (limits: Config["limits"]) => limits.MAX_TOKENS * 2;

/** A list over the cap, where it is (`input[1].sharedWith`) and how long. */
class Oversized {
  constructor(
    readonly field: string,
    readonly size: number,
  ) {}
}

/**
 * The first list in an operation's arguments longer than `max`: literals in the document and values of
 * its variables, at any depth of input objects, by the schema's types (a list inside a JSON scalar is
 * not a list argument). Checked before execution, so that a 200,000-value list is refused before it is
 * coerced, planned, sent on or read: the gateway and each subgraph both check (services keep their
 * own, finer caps per field). `_entities(representations:)` is the gateway's own call, sized by what it
 * resolves, and is not checked.
 */
export function oversizedList(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
  max: number,
): GraphQLError | undefined {
  const typeInfo = new TypeInfo(schema);
  const checkLiteral = (node: ValueNode, type: GraphQLInputType, path: string): void => {
    if (node.kind === Kind.VARIABLE) return checkValue(variables?.[node.name.value], type, path);
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (node.kind !== Kind.LIST) return checkLiteral(node, nullable.ofType, path);
      if (node.values.length > max) throw new Oversized(path, node.values.length);
      node.values.forEach((item, i) => checkLiteral(item, nullable.ofType, `${path}[${i}]`));
    } else if (isInputObjectType(nullable) && node.kind === Kind.OBJECT) {
      const fields = nullable.getFields();
      for (const field of node.fields) {
        const definition = fields[field.name.value];
        if (definition) checkLiteral(field.value, definition.type, `${path}.${field.name.value}`);
      }
    }
  };
  const checkValue = (value: unknown, type: GraphQLInputType, path: string): void => {
    if (value === null || value === undefined) return;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (!Array.isArray(value)) return checkValue(value, nullable.ofType, path);
      if (value.length > max) throw new Oversized(path, value.length);
      value.forEach((item, i) => checkValue(item, nullable.ofType, `${path}[${i}]`));
    } else if (isInputObjectType(nullable) && typeof value === "object") {
      const fields = nullable.getFields();
      for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
        const definition = fields[name];
        if (definition) checkValue(field, definition.type, `${path}.${name}`);
      }
    }
  };
  try {
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Argument(node) {
          const argument = typeInfo.getArgument();
          if (!argument || typeInfo.getFieldDef()?.name === "_entities") return;
          checkLiteral(node.value, argument.type, node.name.value);
        },
      }),
    );
  } catch (err) {
    if (err instanceof Oversized) return badInput(`${err.field}: at most ${max} values (got ${err.size})`, err.field);
    throw err;
  }
  return undefined;
}
