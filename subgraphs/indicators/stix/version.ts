/**
 * A STIX object's version: `modified`, else `created`, as sent (objects without either, such as cyber
 * observables, have one version). The key is the same instant as a fixed-width UTC timestamp with nine
 * fractional digits, so versions sent with different precision compare rightly as text, in SQL too.
 */
export interface StixVersion {
  /** As sent; null for objects without `modified` or `created`. */
  version: string | null;
  key: string;
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** The sortable key of a STIX timestamp, or null when it is not one. */
export function timestampKey(timestamp: string): string | null {
  const match = TIMESTAMP.exec(timestamp);
  if (!match || Number.isNaN(Date.parse(`${match[1]}Z`))) return null;
  return `${match[1]}.${(match[2] ?? "").padEnd(9, "0")}Z`;
}

export function versionOf(object: Record<string, unknown>): StixVersion {
  const stamp = typeof object.modified === "string" ? object.modified : typeof object.created === "string" ? object.created : null;
  if (stamp === null) return { version: null, key: "" };
  return { version: stamp, key: timestampKey(stamp) ?? "" };
}

/** A time as a STIX timestamp with millisecond precision, and its key. */
export function stixTimestamp(date: Date): StixVersion & { version: string } {
  const version = date.toISOString();
  return { version, key: timestampKey(version)! };
}
