import { InputError } from "../../src/graphql/common.types.js";
import { STATUSES, type IncidentStatus, type Resolution } from "./incident.enums.js";

/**
 * The case workflow, in the manner of TheHive: a case moves only forward through its stages (a
 * stage may be skipped), and a closed case may be reopened into INVESTIGATING. Closing needs a
 * resolution; reopening clears it.
 */
const stage = (s: IncidentStatus) => STATUSES.indexOf(s);

export function isAllowedMove(from: IncidentStatus, to: IncidentStatus): boolean {
  if (from === "CLOSED") return to === "INVESTIGATING";
  return stage(to) > stage(from);
}

export type StatusChange = { status: IncidentStatus; resolution: Resolution | null };

/** The status and resolution after an update asks for `to` (and maybe a resolution), or why not. */
export function moveStatus(
  current: StatusChange,
  to: IncidentStatus | null | undefined,
  resolution: Resolution | null | undefined,
): { ok: true; value: StatusChange } | { ok: false; error: InputError } {
  if (to == null || to === current.status) {
    if (resolution != null && current.status !== "CLOSED" && to !== "CLOSED") {
      return { ok: false, error: new InputError("resolution: only given when closing (status CLOSED)", "resolution") };
    }
    // A closed case's resolution may be corrected while it stays closed.
    return { ok: true, value: { status: current.status, resolution: current.status === "CLOSED" ? resolution ?? current.resolution : null } };
  }
  if (!isAllowedMove(current.status, to)) {
    const allowed = current.status === "CLOSED" ? "a closed incident can only be reopened to INVESTIGATING" : "incidents move only forward (NEW → TRIAGED → INVESTIGATING → CONTAINED → CLOSED)";
    return { ok: false, error: new InputError(`status: cannot move from ${current.status} to ${to}: ${allowed}`, "status") };
  }
  if (to === "CLOSED") {
    if (resolution == null) return { ok: false, error: new InputError("resolution: required to close an incident", "resolution") };
    return { ok: true, value: { status: to, resolution } };
  }
  if (resolution != null) return { ok: false, error: new InputError("resolution: only given when closing (status CLOSED)", "resolution") };
  return { ok: true, value: { status: to, resolution: null } };
}

interface StatusEntry {
  at: Date;
  toStatus: IncidentStatus | null;
}

/**
 * Seconds from the report until the case first reached triage and containment (a skipped stage counts
 * as reached by the move past it), and until its last close while it stays closed.
 */
export function caseTimes(reportedAt: Date, entries: readonly StatusEntry[], status: IncidentStatus) {
  const since = (at: Date | undefined) => (at ? Math.max(0, Math.round((at.getTime() - reportedAt.getTime()) / 1000)) : null);
  const firstAt = (s: IncidentStatus) => entries.find((e) => e.toStatus !== null && stage(e.toStatus) >= stage(s))?.at;
  const closes = entries.filter((e) => e.toStatus === "CLOSED");
  return {
    toTriage: since(firstAt("TRIAGED")),
    toContain: since(firstAt("CONTAINED")),
    toClose: status === "CLOSED" ? since(closes[closes.length - 1]?.at) : null,
  };
}
