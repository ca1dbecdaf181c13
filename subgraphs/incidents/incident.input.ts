import { Field, ID, InputType, Int } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { TlpEnum } from "../../src/graphql/common.types.js";
import {
  DeterminationEnum,
  IncidentStatusEnum,
  InvestigationStatusEnum,
  ProductKindEnum,
  ResolutionEnum,
  SeverityEnum,
  type Determination,
  type IncidentStatus,
  type InvestigationStatus,
  type ProductKind,
  type Resolution,
  type Severity,
} from "./incident.enums.js";

/** The fields a reporter describes an incident with; shared by reporting and updating. */
@InputType()
abstract class IncidentFields {
  @Field(() => String, { nullable: true, description: "Up to 20,000 characters" })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: "Member orgs that may see an AMBER or RED incident (up to 100)" })
  sharedWith?: string[] | null;

  @Field(() => [ID], { nullable: true, description: "indicator--<uuid> ids the reporter may see (up to 200)" })
  indicatorIds?: string[] | null;

  @Field(() => [ID], { nullable: true, description: "account--<uuid> ids of accounts involved that the reporter may see: its own, or flagged visibly to it (up to 200)" })
  accountIds?: string[] | null;

  @Field(() => Date, { nullable: true })
  occurredAt?: Date | null;

  @Field(() => Date, { nullable: true })
  detectedAt?: Date | null;

  @Field(() => DeterminationEnum, { nullable: true })
  determination?: Determination | null;

  @Field(() => InvestigationStatusEnum, { nullable: true })
  investigationStatus?: InvestigationStatus | null;

  @Field(() => [String], { nullable: true, description: "Up to 20, lower-case 1-64 characters (a-z, 0-9, '-')" })
  incidentTypes?: string[] | null;

  @Field(() => Int, { nullable: true, description: "0-100" })
  criticality?: number | null;

  @Field(() => [String], { nullable: true, description: "Up to 20, lower-case 1-64 characters (a-z, 0-9, '-')" })
  detectionMethods?: string[] | null;

  @Field(() => [ProductKindEnum], { nullable: true })
  affectedProducts?: ProductKind[] | null;
}

@InputType({ description: "A new incident; with a sourceRef already reported by this org, an update of that incident" })
export class IncidentInput extends IncidentFields {
  @Field({ description: "1-300 characters" })
  title!: string;

  @Field(() => SeverityEnum)
  severity!: Severity;

  @Field(() => TlpEnum)
  tlp!: Tlp;

  @Field(() => [String], { nullable: true, description: "Agencies to refer a crime or a threat to national security to; they see it whatever its TLP" })
  referredTo?: string[] | null;

  @Field(() => String, { nullable: true, description: "The reporter's own id for it (1-200 characters): reporting it again updates, never duplicates" })
  sourceRef?: string | null;
}

@InputType({ description: "Only the fields given change; lists given replace the stored ones" })
export class IncidentUpdate extends IncidentFields {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => SeverityEnum, { nullable: true })
  severity?: Severity | null;

  @Field(() => TlpEnum, { nullable: true })
  tlp?: Tlp | null;

  @Field(() => IncidentStatusEnum, { nullable: true, description: "A forward move, or CLOSED → INVESTIGATING to reopen" })
  status?: IncidentStatus | null;

  @Field(() => ResolutionEnum, { nullable: true, description: "Required to close" })
  resolution?: Resolution | null;
}

@InputType()
export class IncidentFilter {
  @Field(() => SeverityEnum, { nullable: true, description: "This severity or higher" })
  minSeverity?: Severity | null;

  @Field(() => [IncidentStatusEnum], { nullable: true })
  statuses?: IncidentStatus[] | null;

  @Field(() => [String], { nullable: true, description: "Any of these incident types" })
  types?: string[] | null;

  @Field(() => String, { nullable: true, description: "Reported by this org" })
  owner?: string | null;

  @Field(() => Boolean, { nullable: true, description: "Only incidents referred to the caller's agency" })
  referredToMe?: boolean | null;

  @Field(() => Date, { nullable: true, description: "Changed at or after this time" })
  modifiedSince?: Date | null;
}

@InputType({ description: "Which events the feed carries, besides the TLP rule" })
export class IncidentFeedFilter {
  @Field(() => SeverityEnum, { nullable: true, description: "This severity or higher" })
  minSeverity?: Severity | null;

  @Field(() => [String], { nullable: true, description: "Any of these incident types" })
  types?: string[] | null;

  @Field(() => [IncidentStatusEnum], { nullable: true })
  statuses?: IncidentStatus[] | null;

  @Field(() => Boolean, { nullable: true, description: "Only incidents referred to the caller's agency" })
  referredToMe?: boolean | null;
}
