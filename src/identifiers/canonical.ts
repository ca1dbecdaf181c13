import { domainToASCII } from "node:url";
import countries from "i18n-iso-countries";
import { electronicFormatIBAN, isValidIBAN } from "ibantools";
import { parsePhoneNumberFromString } from "libphonenumber-js";

/**
 * The written rule for each identifier type: how a value is put into one canonical form before it is
 * hashed, so that the same e-mail, phone or card written two ways by two providers matches. The raw
 * value is used for nothing else and kept nowhere.
 */
export const IDENTIFIER_TYPES = ["EMAIL", "PHONE", "PAYMENT_CARD", "BANK_ACCOUNT", "CRYPTO_WALLET", "NATIONAL_ID", "DOMAIN"] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

export const MAX_IDENTIFIER_LENGTH = 320;

export type Canonical = { ok: true; value: string } | { ok: false; why: string };

const ok = (value: string): Canonical => ({ ok: true, value });
const no = (why: string): Canonical => ({ ok: false, why });

/** An ISO 3166-1 alpha-2 code, upper case as the standard writes it. */
export function isCountryCode(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && countries.isValid(code);
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower case, no trailing dot, international names in their ASCII (punycode) form; at least two labels. */
function domain(value: string): Canonical {
  const trimmed = value.trim().toLowerCase().replace(/\.$/, "");
  const ascii = domainToASCII(trimmed);
  if (!ascii || ascii.length > 253) return no("not a domain name");
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return no("not a domain name (labels of a-z, 0-9 and '-', at least two)");
  return ok(ascii);
}

/** Trimmed and lower-cased, its domain as for DOMAIN: `Alice@Example.COM ` is `alice@example.com`. */
function email(value: string): Canonical {
  const trimmed = value.trim().toLowerCase();
  const at = trimmed.lastIndexOf("@");
  if (at <= 0 || at !== trimmed.indexOf("@")) return no("not an e-mail address (one '@' between a local part and a domain)");
  const local = trimmed.slice(0, at);
  if (local.length > 64 || /[\s<>()[\],;:"\\]/.test(local)) return no("not an e-mail address (local part)");
  const host = domain(trimmed.slice(at + 1));
  if (!host.ok) return no(`not an e-mail address (${host.why})`);
  return ok(`${local}@${host.value}`);
}

/** E.164 (`+12025550143`), from any international writing of it: the country code is required. */
function phone(value: string): Canonical {
  const parsed = parsePhoneNumberFromString(value.trim());
  if (!parsed?.isValid()) return no("not a phone number that can be put in E.164: write it with its country code (+1 202 555 0143)");
  return ok(parsed.number);
}

/** Luhn's check digit, as every payment card number carries. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** Digits only (spaces and dashes removed), 12 to 19 of them, with a valid check digit. */
function card(value: string): Canonical {
  const digits = value.replace(/[\s-]/g, "");
  if (!/^\d{12,19}$/.test(digits) || !luhn(digits)) return no("not a payment card number (12-19 digits with a valid check digit)");
  return ok(digits);
}

/**
 * An IBAN in its electronic form (upper case, no spaces), validated; or, where there is no IBAN,
 * `<country>:<account>` with the account's letters and digits only, upper case (`US:021000021/123456789`
 * is `US:021000021123456789`).
 */
function bankAccount(value: string): Canonical {
  const trimmed = value.trim();
  const national = /^([A-Za-z]{2}):(.+)$/.exec(trimmed);
  if (national) {
    const country = national[1]!.toUpperCase();
    const account = national[2]!.replace(/[\s./-]/g, "").toUpperCase();
    if (!isCountryCode(country)) return no("not a bank account (the part before ':' is not an ISO 3166-1 alpha-2 code)");
    if (!/^[A-Z0-9]{4,34}$/.test(account)) return no("not a bank account (4-34 letters and digits after the country code)");
    return ok(`${country}:${account}`);
  }
  const iban = electronicFormatIBAN(trimmed);
  if (!iban || !isValidIBAN(iban)) return no("not a bank account: an IBAN, or <country>:<account number> where there is none");
  return ok(iban);
}

/**
 * Case-insensitive forms in lower case (0x-hex addresses of Ethereum-like chains, bech32 addresses
 * such as bc1…), any other address as written (base58 is case-sensitive); 20-128 letters and digits.
 */
function wallet(value: string): Canonical {
  const trimmed = value.trim();
  if (/^0x[0-9a-fA-F]{40}$/.test(trimmed)) return ok(trimmed.toLowerCase());
  if (/^[a-zA-Z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$/.test(trimmed) && (trimmed === trimmed.toLowerCase() || trimmed === trimmed.toUpperCase())) {
    return ok(trimmed.toLowerCase());
  }
  if (!/^[A-Za-z0-9]{20,128}$/.test(trimmed)) return no("not a wallet address (20-128 letters and digits)");
  return ok(trimmed);
}

/** `<country>:<number>`, the number's letters and digits only, upper case (`us:123-45-6789` is `US:123456789`). */
function nationalId(value: string): Canonical {
  const match = /^([A-Za-z]{2}):(.+)$/.exec(value.trim());
  if (!match) return no("not a national id: write it as <ISO 3166-1 alpha-2 country>:<number>");
  const country = match[1]!.toUpperCase();
  const number = match[2]!.replace(/[\s./-]/g, "").toUpperCase();
  if (!isCountryCode(country)) return no("not a national id (the part before ':' is not an ISO 3166-1 alpha-2 code)");
  if (!/^[A-Z0-9]{4,30}$/.test(number)) return no("not a national id (4-30 letters and digits after the country code)");
  return ok(`${country}:${number}`);
}

const RULES: Record<IdentifierType, (value: string) => Canonical> = {
  EMAIL: email,
  PHONE: phone,
  PAYMENT_CARD: card,
  BANK_ACCOUNT: bankAccount,
  CRYPTO_WALLET: wallet,
  NATIONAL_ID: nationalId,
  DOMAIN: domain,
};

/** The canonical form of a value of this type, or why it is not one. */
export function canonical(type: IdentifierType, value: string): Canonical {
  if (value.length > MAX_IDENTIFIER_LENGTH) return no(`longer than ${MAX_IDENTIFIER_LENGTH} characters`);
  return RULES[type](value);
}

/** What is hashed: the type and the canonical value, so that equal values of two types never match. */
export const hashInput = (type: IdentifierType, value: string) => `${type}\u0000${value}`;
