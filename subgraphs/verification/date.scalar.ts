import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped } from "graphql";

/**
 * `Date`: a calendar date, YYYY-MM-DD. The scalar takes any value and leaves the checking to the
 * record's validation, so that an impossible date (2023-02-30), or a number, is an input error naming
 * its field, returned as a value, and no message repeats it: a date of birth is personal. A scalar
 * that refused it (graphql-scalars' GraphQLDate) would fail the request during variable coercion, with
 * the value quoted in graphql-js's message.
 */
export const CalendarDate = new GraphQLScalarType<unknown, string>({
  name: "Date",
  description: "A calendar date, YYYY-MM-DD (ISO 8601)",
  specifiedByURL: "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
  serialize(value) {
    if (typeof value === "string") return value;
    if (value instanceof Date) return value.toISOString().slice(0, 10);
    throw new GraphQLError("Date: not a calendar date");
  },
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => (ast.kind === Kind.STRING ? ast.value : valueFromASTUntyped(ast, variables)),
});

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The date of `text` if it is one that exists (YYYY-MM-DD, month 1-12, day within the month), else null. */
export function parseCalendarDate(text: string): Date | null {
  const m = ISO_DATE.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return date;
}
