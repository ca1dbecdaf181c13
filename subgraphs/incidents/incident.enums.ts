import { registerEnumType } from "type-graphql";

/** The closed vocabularies of an incident, as stored and as GraphQL enums. */

export const SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ["NEW", "TRIAGED", "INVESTIGATING", "CONTAINED", "CLOSED"] as const;
export type IncidentStatus = (typeof STATUSES)[number];

export const RESOLUTIONS = ["TRUE_POSITIVE", "FALSE_POSITIVE", "INDETERMINATE", "DUPLICATE", "OTHER"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** STIX 2.1 Incident Core extension `determination`, with '-' as '_'. */
export const DETERMINATIONS = ["BLOCKED", "FAILED_ATTEMPT", "FALSE_POSITIVE", "LOW_VALUE", "SUCCESSFUL_ATTEMPT", "SUSPECTED"] as const;
export type Determination = (typeof DETERMINATIONS)[number];

/** STIX 2.1 Incident Core extension `investigation_status`. */
export const INVESTIGATION_STATUSES = ["NEW", "OPEN", "CLOSED"] as const;
export type InvestigationStatus = (typeof INVESTIGATION_STATUSES)[number];

export const PRODUCT_KINDS = ["COMPUTE", "STORAGE", "NETWORK", "MANAGED_SERVICE", "DATABASE", "CONTAINER", "SERVERLESS", "IDENTITY", "OTHER"] as const;
export type ProductKind = (typeof PRODUCT_KINDS)[number];

export const EVENT_KINDS = ["REPORTED", "UPDATED", "NOTE", "REFERRED", "CLOSED"] as const;
export type IncidentEventKind = (typeof EVENT_KINDS)[number];

export const TIMELINE_KINDS = ["REPORTED", "UPDATED", "STATUS", "NOTE", "REFERRED"] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

const asEnum = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

export const SeverityEnum = asEnum(SEVERITIES);
export const IncidentStatusEnum = asEnum(STATUSES);
export const ResolutionEnum = asEnum(RESOLUTIONS);
export const DeterminationEnum = asEnum(DETERMINATIONS);
export const InvestigationStatusEnum = asEnum(INVESTIGATION_STATUSES);
export const ProductKindEnum = asEnum(PRODUCT_KINDS);
export const IncidentEventKindEnum = asEnum(EVENT_KINDS);
export const TimelineKindEnum = asEnum(TIMELINE_KINDS);

registerEnumType(SeverityEnum, { name: "Severity" });
registerEnumType(IncidentStatusEnum, {
  name: "IncidentStatus",
  description: "The case workflow: moves only forward (NEW → TRIAGED → INVESTIGATING → CONTAINED → CLOSED), and CLOSED → INVESTIGATING reopens",
});
registerEnumType(ResolutionEnum, { name: "Resolution", description: "Why a case was closed" });
registerEnumType(DeterminationEnum, { name: "Determination", description: "STIX Incident Core `determination`" });
registerEnumType(InvestigationStatusEnum, { name: "InvestigationStatus", description: "STIX Incident Core `investigation_status`" });
registerEnumType(ProductKindEnum, { name: "ProductKind", description: "The kind of cloud product an incident touched" });
registerEnumType(IncidentEventKindEnum, {
  name: "IncidentEventKind",
  description: "REPORTED: new; UPDATED: changed (status moves other than closing included); NOTE: a timeline note; REFERRED: referred to more agencies; CLOSED",
});
registerEnumType(TimelineKindEnum, { name: "TimelineKind" });

export const SEVERITY_RANK: Record<Severity, number> = { LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 3 };
