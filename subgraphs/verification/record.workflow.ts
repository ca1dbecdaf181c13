import { VERIFICATION_STATUSES, type StoredStatus, type VerificationStatus } from "./record.enums.js";
import { bad, type Checked } from "./record.validation.js";

/**
 * The verification workflow of the proposed rule (89 FR 5698): a new record is PENDING; it is
 * VERIFIED, or UNVERIFIED (restricted use under enhanced monitoring while verification goes on), or
 * FAILED; a verified customer goes back to PENDING for re-verification (periodic, or because its
 * beneficial owners changed); every status but CLOSED may be closed, and CLOSED is final.
 */
export const MOVES: Readonly<Record<StoredStatus, readonly StoredStatus[]>> = {
  PENDING: ["VERIFIED", "UNVERIFIED", "FAILED", "CLOSED"],
  UNVERIFIED: ["VERIFIED", "FAILED", "CLOSED"],
  VERIFIED: ["PENDING", "CLOSED"],
  FAILED: ["CLOSED"],
  CLOSED: [],
};

/** The status a move to `to` from `from` leaves, or why it is refused (naming the field `status`). */
export function moveStatus(from: StoredStatus, to: VerificationStatus): Checked<StoredStatus> {
  if (!VERIFICATION_STATUSES.includes(to)) return bad("status", `must be one of ${VERIFICATION_STATUSES.join(", ")}`);
  if (to === "EXEMPT") return bad("status", "EXEMPT follows from an exemption (grantExemption), never set on a record");
  const allowed = MOVES[from];
  if (!allowed.includes(to)) {
    const next = allowed.length ? `from ${from} a record moves only to ${allowed.join(" or ")}` : "a closed record stays closed";
    return bad("status", `cannot move from ${from} to ${to}: ${next}`);
  }
  return { ok: true, value: to };
}
