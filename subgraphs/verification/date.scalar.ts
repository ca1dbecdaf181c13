import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

/**
 * `Date`: a calendar date, YYYY-MM-DD. The scalar takes any string and leaves the checking to the
 * record's validation, so that an impossible date (2023-02-30) is an input error naming its field as
 * a value, and no message repeats it: a date of birth is personal. graphql-scalars' GraphQLDate
 * refuses it during variable coercion with the value in the message.
 */
export const CalendarDate = new GraphQLScalarType<string, string>({
  name: "Date",
  description: "A calendar date, YYYY-MM-DD (ISO 8601)",
  specifiedByURL: "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
  serialize(value) {
    if (typeof value === "string") return value;
    if (value instanceof Date) return value.toISOString().slice(0, 10);
    throw new GraphQLError("Date: not a calendar date");
  },
  parseValue(value) {
    if (typeof value !== "string") throw new GraphQLError("Date: a string YYYY-MM-DD expected");
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError("Date: a string YYYY-MM-DD expected");
    return ast.value;
  },
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
