import { ORG_ID_PATTERN, ORG_KINDS, type OrgKind } from "../../src/auth/viewer.js";
import { query } from "../../src/db/sql.js";
import { encodeCursor } from "../../src/events/cursor.js";
import type { Context } from "../../src/graphql/context.js";
import { InputError } from "../../src/graphql/common.types.js";
import { characterCount, malformedTextAt, NOT_WELL_FORMED } from "../../src/text.js";
import type { Organization } from "../../src/orgs/organization.entity.js";
import type { OrganizationInput } from "./organization.input.js";
import type { OrganizationResult, ViewerInfo } from "./organization.type.js";

export class OrganizationService {
  constructor(private readonly ctx: Context) {}

  list(kind?: OrgKind | null): Promise<Organization[]> {
    return this.ctx.hub.orgs.list(this.ctx.em, kind ?? undefined);
  }

  get(id: string): Promise<Organization | null> {
    return this.ctx.hub.orgs.get(this.ctx.em, id);
  }

  async register(input: OrganizationInput): Promise<OrganizationResult> {
    const error = (field: string, message: string): OrganizationResult => ({ organization: null, error: new InputError(`${field}: ${message}`, field) });
    const malformed = malformedTextAt(input);
    if (malformed !== null) return error(malformed, NOT_WELL_FORMED);
    if (!ORG_ID_PATTERN.test(input.id)) return error("id", "lower-case letters, digits and '-', 1-63 characters, not starting or ending with '-'");
    const name = input.name.trim();
    if (!name || characterCount(name) > 200 || /[\u0000-\u001f\u007f]/.test(name)) return error("name", "1-200 printable characters");
    if (!ORG_KINDS.includes(input.kind)) return error("kind", `one of ${ORG_KINDS.join(", ")}`);
    const organization = await this.ctx.hub.orgs.register(this.ctx.em, this.ctx.viewer, { id: input.id, name, kind: input.kind });
    return { organization, error: null };
  }

  /**
   * The log's highest sequence as a cursor. Any member may ask: every cursor a feed delivers already
   * encodes the log's global sequence, so this tells nothing a subscriber could not learn.
   */
  async eventLogCursor(): Promise<string> {
    const [row] = await query<{ seq: string }>(this.ctx.em, "select coalesce(max(seq), 0)::bigint as seq from hub.event", [], "event_log_cursor");
    return encodeCursor(Number(row!.seq));
  }

  whoami(): ViewerInfo {
    const { viewer } = this.ctx;
    return { org: viewer.org, orgKind: viewer.orgKind, scopes: [...viewer.scopes].sort(), expiresAt: new Date(viewer.expiresAt * 1000) };
  }
}
