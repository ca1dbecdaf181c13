import type { Opt } from "@mikro-orm/core";
import { Entity, PrimaryKey, Property } from "@mikro-orm/decorators/legacy";
import type { IncidentStatus, TimelineKind } from "./incident.enums.js";

/** A row of incidents.timeline_entry: one step of a case, never changed once written. */
@Entity({ schema: "incidents", tableName: "timeline_entry" })
export class TimelineEntryEntity {
  @PrimaryKey({ type: "bigint", autoincrement: true })
  id!: number & Opt;

  @Property({ type: "uuid", fieldName: "incident_id" })
  incidentId!: string;

  @Property({ type: "text" })
  kind!: TimelineKind;

  @Property({ type: "text", fieldName: "author_org" })
  authorOrg!: string;

  @Property({ type: "Date", defaultRaw: "clock_timestamp()" })
  at!: Date & Opt;

  @Property({ type: "text", fieldName: "from_status", nullable: true })
  fromStatus?: IncidentStatus | null;

  @Property({ type: "text", fieldName: "to_status", nullable: true })
  toStatus?: IncidentStatus | null;

  @Property({ type: "text", nullable: true })
  text?: string | null;

  @Property({ type: "text[]" })
  agencies!: string[] & Opt;
}
