import type { Opt } from "@mikro-orm/core";
import { Entity, PrimaryKey, Property, Unique } from "@mikro-orm/decorators/legacy";

export const ACCOUNT_KINDS = ["STANDARD", "RESELLER", "TRIAL"] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];
export const HOLDER_TYPES = ["INDIVIDUAL", "ENTITY"] as const;
export type HolderType = (typeof HOLDER_TYPES)[number];
export const ACCOUNT_STATUSES = ["PENDING_VERIFICATION", "ACTIVE", "RESTRICTED", "CLOSED"] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** A row of accounts.account. Registrations are written through SQL in bulk (see AccountService.register). */
@Entity({ schema: "accounts", tableName: "account" })
@Unique({ properties: ["provider", "externalRef"] })
export class AccountEntity {
  @PrimaryKey({ type: "uuid" })
  id!: string;

  @Property({ type: "bigint", unique: true, generated: "always as identity" })
  seq!: number & Opt;

  @Property({ type: "text" })
  provider!: string;

  @Property({ type: "text", fieldName: "external_ref" })
  externalRef!: string;

  @Property({ type: "text" })
  kind!: AccountKind;

  @Property({ type: "text", fieldName: "holder_type" })
  holderType!: HolderType;

  @Property({ type: "text", fieldName: "holder_jurisdiction" })
  holderJurisdiction!: string;

  @Property({ type: "boolean", fieldName: "us_person" })
  usPerson!: boolean;

  @Property({ type: "text" })
  status!: AccountStatus;

  @Property({ type: "Date", fieldName: "opened_at" })
  openedAt!: Date;

  @Property({ type: "Date", fieldName: "closed_at", nullable: true })
  closedAt?: Date | null;

  @Property({ type: "Date", fieldName: "created_at" })
  createdAt!: Date & Opt;

  @Property({ type: "Date", fieldName: "modified_at" })
  modifiedAt!: Date & Opt;
}
