import { stringify } from "csv-stringify/sync";
import type { CertificationReport } from "./certification.type.js";

/**
 * The certification report as CSV: one table, one row per line item, every row self-describing
 * (provider, date, section), so that a spreadsheet or a script filters it by `section` and several
 * years' files can be concatenated. A column a section does not use is empty. RFC 4180 quoting and
 * CRLF line ends (csv-stringify), a header row first. A text cell a spreadsheet would run as a formula
 * (one starting with =, +, -, @, tab or CR: a basis, a product or a reason the provider wrote) is
 * kept as text by a leading apostrophe, csv-stringify's `escape_formulas` (OWASP's advice on CSV injection).
 *
 * Sections, in this order:
 * - `summary`: `item` (a field of CertificationSummary, or `unverifiedMaxDays`), `count`
 * - `customers_by_country`: `country`, `count` (customers), `us_persons`, `foreign`
 * - `foreign_beneficial_owners_by_country`: `country`, `count`
 * - `foreign_reseller_accounts`: `account_id`, `record_id`, `country`
 * - `foreign_accounts_not_verified`: `account_id`, `record_id`, `country`, `status`
 * - `exempt_accounts`: `exemption_id`, `scope`, `account_kind`, `product`, `basis`, `count` (accounts)
 * - `unverifiable_cases`: `record_id`, `account_id`, `cause`, `since`, `status`, `resolution`,
 *   `resolved_at`, `status_path` (`STATUS@time` steps joined by ` > `), `reason`
 */
export const CSV_COLUMNS = [
  "provider",
  "as_of",
  "generated_at",
  "section",
  "item",
  "country",
  "account_id",
  "record_id",
  "status",
  "exemption_id",
  "scope",
  "account_kind",
  "product",
  "basis",
  "cause",
  "since",
  "resolution",
  "resolved_at",
  "status_path",
  "reason",
  "count",
  "us_persons",
  "foreign",
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
type CsvRow = Partial<Record<CsvColumn, string | number | null>>;

/** Joins a status path for one cell; `parseStatusPath` reads it back. */
export const STATUS_PATH_SEPARATOR = " > ";

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function csvRows(report: CertificationReport): CsvRow[] {
  const base = { provider: report.provider, as_of: iso(report.asOf), generated_at: iso(report.generatedAt) };
  const rows: CsvRow[] = [];
  const add = (section: string, row: CsvRow) => rows.push({ ...base, section, ...row });

  for (const [item, count] of Object.entries(report.summary)) add("summary", { item, count: count as number });
  add("summary", { item: "unverifiedMaxDays", count: report.unverifiedMaxDays });
  for (const c of report.customersByCountry) add("customers_by_country", { country: c.country, count: c.customers, us_persons: c.usPersons, foreign: c.foreign });
  for (const o of report.foreignBeneficialOwnersByCountry) add("foreign_beneficial_owners_by_country", { country: o.country, count: o.count });
  for (const a of report.foreignResellerAccounts) add("foreign_reseller_accounts", { account_id: a.accountId, record_id: a.recordId, country: a.country });
  for (const a of report.foreignAccountsNotVerified.accounts) {
    add("foreign_accounts_not_verified", { account_id: a.accountId, record_id: a.recordId, country: a.country, status: a.status });
  }
  for (const e of report.exemptAccounts.byBasis) {
    add("exempt_accounts", {
      exemption_id: e.exemptionId,
      scope: e.scope,
      account_kind: e.accountKind,
      product: e.product,
      basis: e.basis,
      count: e.accounts,
    });
  }
  for (const c of report.unverifiableCases) {
    add("unverifiable_cases", {
      record_id: c.recordId,
      account_id: c.accountId,
      cause: c.cause,
      since: iso(c.since),
      status: c.status,
      resolution: c.resolution,
      resolved_at: iso(c.resolvedAt),
      status_path: c.statusPath.map((s) => `${s.status}@${s.at.toISOString()}`).join(STATUS_PATH_SEPARATOR),
      reason: c.reason,
    });
  }
  return rows;
}

export function toCsv(report: CertificationReport): string {
  return stringify(csvRows(report), { header: true, columns: [...CSV_COLUMNS], record_delimiter: "windows", escape_formulas: true });
}
