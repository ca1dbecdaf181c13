/**
 * The event log's topics: the contract between the subgraph that writes an event and every reader
 * (feeds, and other subgraphs' projections), kept here so that no subgraph imports another.
 */
export const Topics = {
  INDICATOR_PUBLISHED: "indicator.published",
  INDICATOR_REVOKED: "indicator.revoked",
  /** A sighting of an indicator reported: owner = the reporting org, the sighting's TLP and audience. */
  SIGHTING_REPORTED: "sighting.reported",
  INCIDENT_REPORTED: "incident.reported",
  INCIDENT_UPDATED: "incident.updated",
  INCIDENT_NOTE: "incident.note",
  INCIDENT_REFERRED: "incident.referred",
  INCIDENT_CLOSED: "incident.closed",
  /** An account as its provider registered or changed it: owner = the provider, RED, shared with no one. */
  ACCOUNT_REGISTERED: "account.registered",
  /** A flag raised, cleared or disputed: owner = the flagging org, the flag's TLP, shared with its audience. */
  ACCOUNT_FLAGGED: "account.flagged",
  FLAG_CLEARED: "account.flag_cleared",
  FLAG_DISPUTED: "account.flag_disputed",
  /** A customer identification record's status moved: owner = the provider, RED, shared with no one; status only. */
  VERIFICATION_STATUS_CHANGED: "verification.status_changed",
} as const;
export type Topic = (typeof Topics)[keyof typeof Topics];

/** The payload of `account.registered`: never an identifier, raw or hashed, nor the external reference. */
export interface AccountRegisteredPayload {
  /** The account's uuid (its id is `account--<uuid>`). */
  id: string;
  provider: string;
  kind: string;
  holder_jurisdiction: string;
  status: string;
}

/** The payload of the flag topics: the flag as it is after the event. */
export interface FlagPayload {
  /** The flag's uuid (its id is `flag--<uuid>`). */
  id: string;
  /** The flagged account's uuid, and the provider that holds it. */
  account_id: string;
  provider: string;
  /** The flagging org. */
  owner: string;
  category: string;
  confidence: number;
  tlp: string;
  shared_with: string[];
  status: "ACTIVE" | "CLEARED" | "DISPUTED";
  expires_at: string | null;
  created_at: string;
  modified_at: string;
}

/** The payload of `verification.status_changed`: ids and the status, never a personal value. */
export interface VerificationStatusPayload {
  /** The account's uuid (its id is `account--<uuid>`). */
  account_id: string;
  record_id: string;
  provider: string;
  status: string;
  at: string;
}
