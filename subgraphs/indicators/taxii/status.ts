import type { StixImportItem, StixImportStatus } from "../stix-import.status.js";

/** An import's status as TAXII 2.1 (4.3.1) shapes a status resource. */
export function statusResource(s: StixImportStatus): Record<string, unknown> {
  const item = (i: StixImportItem) => ({ id: i.id, ...(i.version ? { version: i.version } : {}), ...(i.message ? { message: i.message } : {}) });
  return {
    id: s.id,
    status: s.status,
    request_timestamp: new Date(s.requestTimestamp).toISOString(),
    total_count: s.totalCount,
    success_count: s.successCount,
    successes: s.successes.map(item),
    failure_count: s.failureCount,
    failures: s.failures.map((f) => ({ ...item(f), ...(f.property && !f.message?.includes(f.property) ? { message: `${f.property}: ${f.message ?? "refused"}` } : {}) })),
    pending_count: s.pendingCount,
  };
}
