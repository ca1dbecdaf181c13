/**
 * The event log's topics: the contract between the subgraph that writes an event and every reader
 * (feeds, and other subgraphs' projections), kept here so that no subgraph imports another.
 */
export const Topics = {
  INDICATOR_PUBLISHED: "indicator.published",
  INDICATOR_REVOKED: "indicator.revoked",
  INCIDENT_REPORTED: "incident.reported",
  INCIDENT_UPDATED: "incident.updated",
  INCIDENT_NOTE: "incident.note",
  INCIDENT_REFERRED: "incident.referred",
  INCIDENT_CLOSED: "incident.closed",
} as const;
export type Topic = (typeof Topics)[keyof typeof Topics];
