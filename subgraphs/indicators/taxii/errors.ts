/**
 * TAXII error messages (TAXII 2.1, 3.6.1): a title, a description and the HTTP status, nothing from
 * inside the hub (no stack, no SQL). Anything unexpected is logged with a correlation id, which the
 * client gets instead.
 */
export class TaxiiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly description?: string,
  ) {
    super(description ?? title);
  }
}

export const badRequest = (description: string) => new TaxiiError(400, "Bad Request", description);
export const notFound = (description: string) => new TaxiiError(404, "Not Found", description);
export const forbidden = (description: string) => new TaxiiError(403, "Forbidden", description);

export function errorMessage(status: number, title: string, description?: string, errorId?: string): Record<string, unknown> {
  return { title, ...(description ? { description } : {}), ...(errorId ? { error_id: errorId } : {}), http_status: String(status) };
}
