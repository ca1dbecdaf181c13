import type { Tlp } from "../auth/tlp.js";

/** One entry of the hub's event log, as readers receive it. */
export interface HubEvent<P = Record<string, unknown>> {
  seq: number;
  topic: string;
  owner: string;
  tlp: Tlp;
  sharedWith: string[];
  payload: P;
  createdAt: Date;
}

/** What a writer appends, inside the transaction of the change it reports. */
export interface NewEvent<P = Record<string, unknown>> {
  topic: string;
  owner: string;
  tlp: Tlp;
  sharedWith: readonly string[];
  payload: P;
}

export interface EventRow {
  seq: number;
  topic: string;
  owner_org: string;
  tlp: Tlp;
  shared_with: string[];
  payload: Record<string, unknown>;
  created_at: Date;
}

export function fromRow(row: EventRow): HubEvent {
  return {
    seq: Number(row.seq),
    topic: row.topic,
    owner: row.owner_org,
    tlp: row.tlp,
    sharedWith: row.shared_with,
    payload: row.payload,
    createdAt: row.created_at,
  };
}
