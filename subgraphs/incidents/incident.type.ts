import { Directive, Field, ID, Int, ObjectType } from "type-graphql";
import type { Tlp } from "../../src/auth/tlp.js";
import { InputError, PageInfo, TlpEnum } from "../../src/graphql/common.types.js";
import {
  DeterminationEnum,
  IncidentEventKindEnum,
  IncidentStatusEnum,
  InvestigationStatusEnum,
  ProductKindEnum,
  ResolutionEnum,
  SeverityEnum,
  TimelineKindEnum,
  type Determination,
  type IncidentEventKind,
  type IncidentStatus,
  type InvestigationStatus,
  type ProductKind,
  type Resolution,
  type Severity,
  type TimelineKind,
} from "./incident.enums.js";

@Directive(`@key(fields: "id")`)
@ObjectType({ description: "A STIX 2.1 incident (Incident Core extension) reported by a member org, worked as a case" })
export class Incident {
  @Field(() => ID, { description: "STIX id: incident--<uuid>" })
  id!: string;

  /** The stored uuid, for the field resolvers. */
  uuid!: string;

  /** Set on an incident as of a feed event: its timeline is the entries up to this id (the last the event wrote). */
  timelineThrough?: number;

  @Field({ description: "1-300 characters" })
  title!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => SeverityEnum)
  severity!: Severity;

  @Field(() => IncidentStatusEnum)
  status!: IncidentStatus;

  @Field(() => ResolutionEnum, { nullable: true, description: "Set when CLOSED" })
  resolution!: Resolution | null;

  @Field(() => TlpEnum)
  tlp!: Tlp;

  @Field({ description: "The reporting org" })
  owner!: string;

  @Field(() => String, { nullable: true, description: "The reporter's own reference (its ticket id); shown to the reporter only" })
  sourceRef!: string | null;

  @Field(() => [String], { description: "Orgs the reporter shared this with. The full list is shown to the reporter only; others see themselves if listed." })
  sharedWith!: string[];

  @Field(() => [String], { description: "Agencies this is referred to, who see it whatever its TLP. The full list is shown to the reporter only." })
  referredTo!: string[];

  @Field(() => DeterminationEnum, { nullable: true })
  determination!: Determination | null;

  @Field(() => InvestigationStatusEnum, { nullable: true })
  investigationStatus!: InvestigationStatus | null;

  @Field(() => [String], { description: "Incident types (STIX incident-type vocabulary or the reporter's own, lower-case)" })
  incidentTypes!: string[];

  @Field(() => Int, { nullable: true, description: "0-100, as STIX Incident Core `criticality`" })
  criticality!: number | null;

  @Field(() => [String], { description: "How it was detected (STIX detection-method vocabulary, lower-case)" })
  detectionMethods!: string[];

  @Field(() => [ProductKindEnum])
  affectedProducts!: ProductKind[];

  /** Stored indicator uuids; `indicators` shows those the viewer may see. */
  indicatorUuids!: string[];

  /** Stored account uuids; `accounts` shows those the viewer may see. */
  accountUuids!: string[];

  @Field(() => Date, { nullable: true })
  occurredAt!: Date | null;

  @Field(() => Date, { nullable: true })
  detectedAt!: Date | null;

  @Field()
  reportedAt!: Date;

  @Field()
  createdAt!: Date;

  @Field()
  modifiedAt!: Date;
}

/** The indicators subgraph's entity, as far as this subgraph links to it and adds to it. */
@Directive(`@key(fields: "id")`)
@ObjectType("Indicator")
export class IndicatorLink {
  @Field(() => ID)
  id!: string;
}

/** The accounts subgraph's entity, as far as this subgraph links to it and adds to it. */
@Directive(`@key(fields: "id")`)
@ObjectType("Account")
export class AccountLink {
  @Field(() => ID)
  id!: string;
}

@ObjectType({ description: "One step of a case: reported, updated, a status move, a note or a referral" })
export class TimelineEntry {
  @Field(() => TimelineKindEnum)
  kind!: TimelineKind;

  @Field()
  at!: Date;

  @Field({ description: "The org that made this entry" })
  authorOrg!: string;

  @Field(() => IncidentStatusEnum, { nullable: true })
  fromStatus!: IncidentStatus | null;

  @Field(() => IncidentStatusEnum, { nullable: true })
  toStatus!: IncidentStatus | null;

  @Field(() => String, { nullable: true, description: "A note's text, or a closing resolution" })
  text!: string | null;

  @Field(() => [String], { description: "For REFERRED: the agencies (the full list for the reporter, themselves for an agency)" })
  agencies!: string[];
}

@ObjectType({ description: "How long the case took to reach each stage, from its report (seconds); null until it has" })
export class IncidentTimes {
  @Field(() => Int, { nullable: true })
  toTriage!: number | null;

  @Field(() => Int, { nullable: true })
  toContain!: number | null;

  @Field(() => Int, { nullable: true, description: "To the last close (a reopened case counts from its report to when it closed again)" })
  toClose!: number | null;
}

@ObjectType()
export class IncidentEvent {
  @Field({ description: "Pass as `after` to resume from this event" })
  cursor!: string;

  @Field(() => IncidentEventKindEnum)
  kind!: IncidentEventKind;

  @Field(() => Incident, { description: "The incident as it was after this event" })
  incident!: Incident;
}

@ObjectType({ description: "The incident, or why the request was refused (error.field names the input at fault)" })
export class IncidentResult {
  @Field(() => Incident, { nullable: true })
  incident!: Incident | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;
}

@ObjectType()
export class IncidentEdge {
  @Field()
  cursor!: string;

  @Field(() => Incident)
  node!: Incident;
}

@ObjectType()
export class IncidentConnection {
  @Field(() => [IncidentEdge])
  edges!: IncidentEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  /** Runs the count only when `totalCount` is selected. */
  count!: () => Promise<number>;
}
