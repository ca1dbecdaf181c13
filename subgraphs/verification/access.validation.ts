import { isIP } from "node:net";
import { parseStixId } from "../../src/graphql/ids.js";

/** The access log's checks that need no stored state: the IP, the time, the action, the account id's form. */

export const ACCESS_ACTIONS = ["ACCESS", "ADMIN"] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

/** How far ahead of the hub's clock an event may be stamped: the sender's clock may run a little fast. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Events older than this are input errors (a unit or epoch mistake), not history. */
export const MAX_EVENT_AGE_DAYS = 10 * 366;
/**
 * The widest network `accountsSeenFromIp` takes: a /8 of IPv4 or a /16 of IPv6 (each already millions
 * of addresses). A shorter prefix reads a provider's whole log, which is an export, not a lookup.
 */
export const MIN_PREFIX = { 4: 8, 6: 16 } as const;

/** One item's first fault: the field within the item (`ip`, `at`, …) and why, never the value. */
export interface AccessFault {
  field: "accountId" | "ip" | "at" | "action";
  message: string;
  code?: "NOT_FOUND";
}

export interface ValidAccessEvent {
  accountUuid: string;
  /** As PostgreSQL's inet reads it: an IPv4-mapped IPv6 address is stored as the IPv4 one it carries. */
  ip: string;
  at: Date;
  action: AccessAction;
}

export const parseAccountUuid = (id: unknown) => parseStixId("account", id);

/**
 * A host address of either family, as the inet column should hold it; null when it is none. Zone ids
 * (`fe80::1%eth0`) name an interface of the sender's host, not an address the provider saw: refused.
 * `::ffff:192.0.2.1` is stored as `192.0.2.1`, so that an IPv4 network finds it.
 */
export function hostAddress(value: unknown): { ip: string; family: 4 | 6 } | null {
  if (typeof value !== "string" || value.length > 45 || value.includes("%")) return null;
  const family = isIP(value);
  if (family === 4) return { ip: value, family };
  if (family !== 6) return null;
  // Canonical form first (RFC 5952, as the URL parser writes it): the mapping has many spellings
  // (`0:0:0:0:0:ffff:192.0.2.1`, `::ffff:c000:201`), and each must land on the IPv4 address.
  let canonical: string;
  try {
    canonical = new URL(`http://[${value}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return { ip: [hi >> 8, hi & 255, lo >> 8, lo & 255].join("."), family: 4 };
  }
  return { ip: canonical, family: 6 };
}

/** An address or a network (`addr/len`); a lone address is its own /32 or /128. Host bits past the prefix are ignored. */
export function ipOrNetwork(value: unknown): { network: string; family: 4 | 6; prefix: number } | { error: string } {
  if (typeof value !== "string" || !value.trim()) return { error: "an IP address or a CIDR network, please" };
  const [address, length, extra] = value.trim().split("/");
  if (extra !== undefined) return { error: "not an IP address or CIDR network" };
  const host = hostAddress(address);
  if (!host) return { error: "not an IP address or CIDR network" };
  // An IPv4-mapped address is written as IPv6: its prefix counts the 96 bits of the mapping.
  const mapped = host.family === 4 && address !== host.ip;
  const max = host.family === 4 && !mapped ? 32 : 128;
  let prefix = host.family === 4 ? 32 : 128;
  if (length !== undefined) {
    if (!/^\d{1,3}$/.test(length) || Number(length) > max) return { error: `the prefix length must be 0-${max}` };
    prefix = Number(length);
    if (mapped) {
      if (prefix < 96) return { error: "an IPv4-mapped network needs a prefix of 96 or more" };
      prefix -= 96;
    }
  }
  if (prefix < MIN_PREFIX[host.family]) return { error: `a network of IPv${host.family} must be /${MIN_PREFIX[host.family]} or narrower` };
  return { network: `${host.ip}/${prefix}`, family: host.family, prefix };
}

/** Checks one event against the hub's clock; the account's owner is the service's to check. */
export function checkAccessEvent(input: { accountId?: unknown; ip?: unknown; at?: unknown; action?: unknown }, now: Date): { ok: true; value: ValidAccessEvent } | { ok: false; fault: AccessFault } {
  const accountUuid = parseAccountUuid(input.accountId);
  if (!accountUuid) return { ok: false, fault: { field: "accountId", message: "not an account id (account--<uuid>)" } };
  const host = hostAddress(input.ip);
  if (!host) return { ok: false, fault: { field: "ip", message: "not an IPv4 or IPv6 address" } };
  const at = input.at;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) return { ok: false, fault: { field: "at", message: "not a date-time" } };
  if (at.getTime() > now.getTime() + CLOCK_SKEW_MS) return { ok: false, fault: { field: "at", message: `in the future (more than ${CLOCK_SKEW_MS / 60000} minutes ahead of the hub's clock)` } };
  if (now.getTime() - at.getTime() > MAX_EVENT_AGE_DAYS * 86_400_000) return { ok: false, fault: { field: "at", message: `more than ${MAX_EVENT_AGE_DAYS} days ago` } };
  if (!ACCESS_ACTIONS.includes(input.action as AccessAction)) return { ok: false, fault: { field: "action", message: `must be one of ${ACCESS_ACTIONS.join(", ")}` } };
  return { ok: true, value: { accountUuid, ip: host.ip, at, action: input.action as AccessAction } };
}

/** A [from, to) window; either end may be open. */
export function checkWindow(from: Date | null | undefined, to: Date | null | undefined): { from: Date | null; to: Date | null } | { field: string; message: string } {
  for (const [field, d] of [["from", from], ["to", to]] as const) {
    if (d != null && (!(d instanceof Date) || Number.isNaN(d.getTime()))) return { field, message: `${field}: not a date-time` };
  }
  if (from && to && from > to) return { field: "to", message: "to: before from" };
  return { from: from ?? null, to: to ?? null };
}
