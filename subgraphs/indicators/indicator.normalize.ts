import { isIPv4, isIPv6 } from "node:net";
import { domainToASCII } from "node:url";
import { characterCount } from "../../src/text.js";

/** The kinds of observable an indicator may carry. */
export const OBSERVABLE_TYPES = ["IPV4", "IPV6", "CIDR", "DOMAIN", "URL", "EMAIL", "MD5", "SHA1", "SHA256", "SHA512", "FILE_NAME"] as const;
export type ObservableType = (typeof OBSERVABLE_TYPES)[number];

export const MAX_VALUE_LENGTH = 2048;

export type Normalized = { ok: true; value: string } | { ok: false; message: string };

const ok = (value: string): Normalized => ({ ok: true, value });
const fail = (message: string): Normalized => ({ ok: false, message });

const HASH_LENGTH: Partial<Record<ObservableType, number>> = { MD5: 32, SHA1: 40, SHA256: 64, SHA512: 128 };
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function canonicalIPv6(value: string): string {
  return new URL(`http://[${value}]`).hostname.slice(1, -1);
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

function normalizeDomain(raw: string): Normalized {
  const ascii = domainToASCII(raw.toLowerCase().replace(/\.$/, ""));
  if (!ascii || ascii.length > 253) return fail("not a valid domain name");
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels[labels.length - 1]!)) {
    return fail("not a valid domain name");
  }
  return ok(ascii);
}

function normalizeCidr(raw: string): Normalized {
  const [address, prefixText, extra] = raw.split("/");
  if (extra !== undefined || !address || !prefixText || !/^\d{1,3}$/.test(prefixText)) return fail("not a CIDR block (address/prefix)");
  const prefix = Number(prefixText);
  if (isIPv4(address)) {
    if (prefix > 32) return fail("IPv4 prefix length must be 0 to 32");
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return ok(`${intToIpv4((ipv4ToInt(address) & mask) >>> 0)}/${prefix}`);
  }
  if (isIPv6(address) && !address.includes("%")) {
    if (prefix > 128) return fail("IPv6 prefix length must be 0 to 128");
    const full = expandIPv6(canonicalIPv6(address));
    let bits = BigInt(`0x${full}`);
    const mask = prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
    bits &= mask;
    const hex = bits.toString(16).padStart(32, "0");
    const groups = hex.match(/.{4}/g)!.join(":");
    return ok(`${canonicalIPv6(groups)}/${prefix}`);
  }
  return fail("not a CIDR block (address/prefix)");
}

function expandIPv6(canonical: string): string {
  const [head, tail] = canonical.includes("::") ? canonical.split("::") : [canonical, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const missing = 8 - h.length - t.length;
  const groups = tail === undefined ? h : [...h, ...Array(missing).fill("0"), ...t];
  return groups.map((g) => g.padStart(4, "0")).join("");
}

/** Canonical form of a value of the given type, or why it is not one. */
export function normalizeValue(type: ObservableType, raw: string): Normalized {
  if (typeof raw !== "string") return fail("must be a string");
  // A file name is matched exactly as written: leading or trailing spaces are part of it.
  const value = type === "FILE_NAME" ? raw : raw.trim();
  if (!value) return fail("must not be empty");
  if (characterCount(value) > MAX_VALUE_LENGTH) return fail(`longer than ${MAX_VALUE_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(value)) return fail("contains control characters");
  switch (type) {
    case "IPV4":
      return isIPv4(value) ? ok(value) : fail("not an IPv4 address");
    case "IPV6":
      return isIPv6(value) && !value.includes("%") ? ok(canonicalIPv6(value)) : fail("not an IPv6 address");
    case "CIDR":
      return normalizeCidr(value);
    case "DOMAIN":
      return normalizeDomain(value);
    case "URL": {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return fail("not an absolute URL");
      }
      if (!["http:", "https:", "ftp:"].includes(url.protocol)) return fail("URL scheme must be http, https or ftp");
      if (!url.hostname) return fail("URL has no host");
      return ok(url.href);
    }
    case "EMAIL": {
      const at = value.lastIndexOf("@");
      const local = value.slice(0, at);
      if (at < 1 || local.length > 64 || !/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/.test(local) || local.startsWith(".") || local.endsWith(".") || local.includes("..")) {
        return fail("not an e-mail address");
      }
      const domain = normalizeDomain(value.slice(at + 1));
      return domain.ok ? ok(`${local.toLowerCase()}@${domain.value}`) : fail("not an e-mail address: its domain is not valid");
    }
    case "MD5":
    case "SHA1":
    case "SHA256":
    case "SHA512": {
      const length = HASH_LENGTH[type]!;
      return new RegExp(`^[0-9a-fA-F]{${length}}$`).test(value) ? ok(value.toLowerCase()) : fail(`not a ${type} hash (${length} hex digits)`);
    }
    case "FILE_NAME":
      return ok(value);
  }
}

/**
 * For lookups, where the caller gives a value without its type: every canonical form the value could
 * take, so that an exact match on the stored (normalised) value finds it.
 */
export function lookupForms(raw: string): string[] {
  const forms = new Set<string>();
  for (const type of OBSERVABLE_TYPES) {
    const n = normalizeValue(type, raw);
    if (n.ok) forms.add(n.value);
  }
  return [...forms];
}

/** The STIX 2.1 pattern for an observable, as an Indicator's `pattern` carries it. */
export function stixPattern(type: ObservableType, value: string): string {
  const quoted = value.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
  switch (type) {
    case "IPV4":
      return `[ipv4-addr:value = '${quoted}']`;
    case "IPV6":
      return `[ipv6-addr:value = '${quoted}']`;
    case "CIDR":
      return value.includes(":") ? `[ipv6-addr:value ISSUBSET '${quoted}']` : `[ipv4-addr:value ISSUBSET '${quoted}']`;
    case "DOMAIN":
      return `[domain-name:value = '${quoted}']`;
    case "URL":
      return `[url:value = '${quoted}']`;
    case "EMAIL":
      return `[email-addr:value = '${quoted}']`;
    case "MD5":
      return `[file:hashes.MD5 = '${quoted}']`;
    case "SHA1":
      return `[file:hashes.'SHA-1' = '${quoted}']`;
    case "SHA256":
      return `[file:hashes.'SHA-256' = '${quoted}']`;
    case "SHA512":
      return `[file:hashes.'SHA-512' = '${quoted}']`;
    case "FILE_NAME":
      return `[file:name = '${quoted}']`;
  }
}
