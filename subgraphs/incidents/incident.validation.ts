import { TLP_LEVELS, type Tlp } from "../../src/auth/tlp.js";
import { ORG_ID_PATTERN } from "../../src/auth/viewer.js";
import { InputError } from "../../src/graphql/common.types.js";
import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import {
  DETERMINATIONS,
  INVESTIGATION_STATUSES,
  PRODUCT_KINDS,
  RESOLUTIONS,
  SEVERITIES,
  STATUSES,
  type Determination,
  type InvestigationStatus,
  type ProductKind,
  type Severity,
} from "./incident.enums.js";
import type { IncidentInput, IncidentUpdate } from "./incident.input.js";
import { parseAccountRef, parseIndicatorRef } from "./incident.row.js";

export const MAX_TITLE = 300;
export const MAX_DESCRIPTION = 20_000;
export const MAX_NOTE = 10_000;
export const MAX_SHARED_WITH = 100;
export const MAX_REFERRED_TO = 50;
export const MAX_LINKS = 200;
export const MAX_TERMS = 20;
const MAX_SOURCE_REF = 200;
export const TERM_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LINE_BREAKS = /[\n\r]/;
/** Nothing in scope happened before this, nor more than a day (clock skew) ahead. */
const EARLIEST = Date.UTC(1990, 0, 1);
const DAY_MS = 24 * 3600 * 1000;

/** The fields of an incident as stored; each check fills in what it was given. */
export interface IncidentValues {
  title: string;
  description: string | null;
  severity: Severity;
  tlp: Tlp;
  sharedWith: string[];
  referredTo: string[];
  sourceRef: string | null;
  indicatorIds: string[];
  accountIds: string[];
  occurredAt: Date | null;
  detectedAt: Date | null;
  determination: Determination | null;
  investigationStatus: InvestigationStatus | null;
  incidentTypes: string[];
  criticality: number | null;
  detectionMethods: string[];
  affectedProducts: ProductKind[];
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: InputError };

/** Thrown inside a check, caught at its edge: the first fault found, naming its field. */
class Refusal extends Error {
  constructor(readonly error: InputError) {
    super(error.message);
  }
}
const refuse = (field: string, message: string): never => {
  throw new Refusal(new InputError(`${field}: ${message}`, field));
};

/** Every string of `value` is well-formed Unicode, or the first that is not is refused by its path. */
function wellFormed(value: unknown, path = ""): void {
  const at = malformedTextAt(value, path);
  if (at !== null) refuse(at, NOT_WELL_FORMED);
}

/** Surrounding white space is trimmed (documented); nothing else of the reporter's words changes. */
function text(field: string, value: string, max: number, { multiline }: { multiline: boolean }): string {
  if (typeof value !== "string") refuse(field, "must be text");
  const trimmed = value.trim();
  if (!trimmed) refuse(field, "must not be empty");
  const length = characterCount(trimmed);
  if (length > max) refuse(field, `longer than ${max} characters (got ${length})`);
  // Postgres cannot store NUL, and other control characters have no place in a case record.
  if (CONTROL.test(trimmed)) refuse(field, "contains control characters (only tab and line breaks are allowed)");
  if (!multiline && LINE_BREAKS.test(trimmed)) refuse(field, "must be one line");
  return trimmed;
}

const optionalText = (field: string, value: string | null | undefined, max: number) =>
  value == null || !value.trim() ? null : text(field, value, max, { multiline: true });

function orgs(field: string, values: string[], max: number, owner: string): string[] {
  if (values.length > max) refuse(field, `at most ${max} orgs`);
  values.forEach((org, i) => {
    if (typeof org !== "string" || !ORG_ID_PATTERN.test(org)) refuse(`${field}[${i}]`, "not an org id");
  });
  return [...new Set(values)].filter((org) => org !== owner).sort();
}

function terms(field: string, values: string[]): string[] {
  if (values.length > MAX_TERMS) refuse(field, `at most ${MAX_TERMS}`);
  const out: string[] = [];
  // Stored as given or refused, never lower-cased; a repeated term counts once.
  values.forEach((term, i) => {
    if (typeof term !== "string" || !TERM_PATTERN.test(term)) refuse(`${field}[${i}]`, "1-64 characters of a-z, 0-9 and '-', starting with a letter or digit (lower case)");
    if (!out.includes(term)) out.push(term);
  });
  return out;
}

function oneOf<T extends string>(field: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) refuse(field, `must be one of ${allowed.join(", ")}`);
  return value;
}

function date(field: string, value: Date | null | undefined, now: Date): Date | null {
  if (value == null) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) refuse(field, "not a date-time");
  if (value.getTime() < EARLIEST) refuse(field, "before 1990");
  if (value.getTime() > now.getTime() + DAY_MS) refuse(field, "in the future");
  return value;
}

function indicatorIds(values: string[]): string[] {
  if (values.length > MAX_LINKS) refuse("indicatorIds", `at most ${MAX_LINKS}`);
  return [
    ...new Set(
      values.map((id, i) => {
        const uuid = parseIndicatorRef(id);
        if (!uuid) refuse(`indicatorIds[${i}]`, "not an indicator id (indicator--<uuid>)");
        return uuid!;
      }),
    ),
  ];
}

function accountIds(values: string[]): string[] {
  if (values.length > MAX_LINKS) refuse("accountIds", `at most ${MAX_LINKS}`);
  return [
    ...new Set(
      values.map((id, i) => {
        const uuid = parseAccountRef(id);
        if (!uuid) refuse(`accountIds[${i}]`, "not an account id (account--<uuid>)");
        return uuid!;
      }),
    ),
  ];
}

function criticality(value: number | null | undefined): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 0 || value > 100) refuse("criticality", "must be an integer from 0 to 100");
  return value;
}

function products(values: ProductKind[]): ProductKind[] {
  values.forEach((p, i) => oneOf(`affectedProducts[${i}]`, p, PRODUCT_KINDS));
  return [...new Set(values)];
}

function checkTimes(occurredAt: Date | null, detectedAt: Date | null): void {
  if (occurredAt && detectedAt && detectedAt < occurredAt) refuse("detectedAt", "before occurredAt");
}

function attempt<T>(check: () => T): Checked<T> {
  try {
    return { ok: true, value: check() };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, error: err.error };
    throw err;
  }
}

/** A new report, checked without the database; org membership and indicator links are checked after. */
export function checkReport(input: IncidentInput, owner: string, now: Date): Checked<IncidentValues> {
  return attempt(() => {
    wellFormed(input);
    const occurredAt = date("occurredAt", input.occurredAt, now);
    const detectedAt = date("detectedAt", input.detectedAt, now);
    checkTimes(occurredAt, detectedAt);
    return {
      title: text("title", input.title, MAX_TITLE, { multiline: false }),
      description: optionalText("description", input.description, MAX_DESCRIPTION),
      severity: oneOf("severity", input.severity, SEVERITIES),
      tlp: oneOf("tlp", input.tlp, TLP_LEVELS),
      sharedWith: orgs("sharedWith", input.sharedWith ?? [], MAX_SHARED_WITH, owner),
      referredTo: orgs("referredTo", input.referredTo ?? [], MAX_REFERRED_TO, owner),
      sourceRef: input.sourceRef == null ? null : text("sourceRef", input.sourceRef, MAX_SOURCE_REF, { multiline: false }),
      indicatorIds: indicatorIds(input.indicatorIds ?? []),
      accountIds: accountIds(input.accountIds ?? []),
      occurredAt,
      detectedAt,
      determination: input.determination == null ? null : oneOf("determination", input.determination, DETERMINATIONS),
      investigationStatus: input.investigationStatus == null ? null : oneOf("investigationStatus", input.investigationStatus, INVESTIGATION_STATUSES),
      incidentTypes: terms("incidentTypes", input.incidentTypes ?? []),
      criticality: criticality(input.criticality),
      detectionMethods: terms("detectionMethods", input.detectionMethods ?? []),
      affectedProducts: products(input.affectedProducts ?? []),
    };
  });
}

/** The stored values with an update's given fields applied; status and resolution are the workflow's. */
export function checkUpdate(update: IncidentUpdate, current: IncidentValues, owner: string, now: Date): Checked<IncidentValues> {
  return attempt(() => {
    wellFormed(update);
    const next: IncidentValues = { ...current };
    if (update.title !== undefined) {
      if (update.title === null) refuse("title", "must not be empty");
      next.title = text("title", update.title!, MAX_TITLE, { multiline: false });
    }
    if (update.description !== undefined) next.description = optionalText("description", update.description, MAX_DESCRIPTION);
    if (update.severity != null) next.severity = oneOf("severity", update.severity, SEVERITIES);
    if (update.tlp != null) next.tlp = oneOf("tlp", update.tlp, TLP_LEVELS);
    if (update.sharedWith != null) next.sharedWith = orgs("sharedWith", update.sharedWith, MAX_SHARED_WITH, owner);
    if (update.indicatorIds != null) next.indicatorIds = indicatorIds(update.indicatorIds);
    if (update.accountIds != null) next.accountIds = accountIds(update.accountIds);
    if (update.occurredAt !== undefined) next.occurredAt = date("occurredAt", update.occurredAt, now);
    if (update.detectedAt !== undefined) next.detectedAt = date("detectedAt", update.detectedAt, now);
    checkTimes(next.occurredAt, next.detectedAt);
    if (update.determination !== undefined) next.determination = update.determination == null ? null : oneOf("determination", update.determination, DETERMINATIONS);
    if (update.investigationStatus !== undefined) {
      next.investigationStatus = update.investigationStatus == null ? null : oneOf("investigationStatus", update.investigationStatus, INVESTIGATION_STATUSES);
    }
    if (update.incidentTypes != null) next.incidentTypes = terms("incidentTypes", update.incidentTypes);
    if (update.criticality !== undefined) next.criticality = criticality(update.criticality);
    if (update.detectionMethods != null) next.detectionMethods = terms("detectionMethods", update.detectionMethods);
    if (update.affectedProducts != null) next.affectedProducts = products(update.affectedProducts);
    if (update.status != null) oneOf("status", update.status, STATUSES);
    if (update.resolution != null) oneOf("resolution", update.resolution, RESOLUTIONS);
    return next;
  });
}

export function checkNote(value: string): Checked<string> {
  return attempt(() => {
    wellFormed(value, "text");
    return text("text", value, MAX_NOTE, { multiline: true });
  });
}

export function checkAgencies(values: string[], owner: string): Checked<string[]> {
  return attempt(() => {
    wellFormed(values, "agencies");
    if (!values.length) refuse("agencies", "name at least one agency");
    return orgs("agencies", values, MAX_REFERRED_TO, owner);
  });
}

/** Why an incident id argument is no text at all; whether it names an incident is the service's question. */
export function malformedId(id: string): InputError | null {
  const checked = attempt(() => wellFormed(id, "id"));
  return checked.ok ? null : checked.error;
}

export function checkTerms(field: string, values: string[]): Checked<string[]> {
  return attempt(() => terms(field, values));
}
