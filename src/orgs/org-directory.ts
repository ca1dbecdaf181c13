import type { EntityManager } from "@mikro-orm/postgresql";
import { query } from "../db/sql.js";
import type { OrgKind, Viewer } from "../auth/viewer.js";
import { Organization } from "./organization.entity.js";

/**
 * The member directory, shared by every subgraph (it lives in the `hub` schema, like the event log).
 * Known ids are remembered: they are checked on every write that names other orgs.
 */
export class OrgDirectory {
  private readonly known = new Map<string, OrgKind>();

  /** An org whose valid token is seen for the first time joins the directory: its IdP vouches for it. */
  async provision(em: EntityManager, viewer: Viewer): Promise<void> {
    if (this.known.has(viewer.org)) return;
    const [row] = await query<{ kind: OrgKind }>(
      em,
      `with added as (
         insert into hub.organization (id, name, kind, provisioned_by) values ($1, $1, $2, 'TOKEN')
         on conflict (id) do nothing returning kind)
       select kind from added union all select kind from hub.organization where id = $1`,
      [viewer.org, viewer.orgKind],
    );
    if (row) this.known.set(viewer.org, row.kind);
  }

  /** The kind of each listed id that is a member; ids missing from the result are not members. */
  async kinds(em: EntityManager, ids: readonly string[]): Promise<Map<string, OrgKind>> {
    const out = new Map<string, OrgKind>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const kind = this.known.get(id);
      if (kind) out.set(id, kind);
      else missing.push(id);
    }
    if (missing.length) {
      const rows = await query<{ id: string; kind: OrgKind }>(em, `select id, kind from hub.organization where id = any($1::text[])`, [missing]);
      for (const { id, kind } of rows) {
        this.known.set(id, kind);
        out.set(id, kind);
      }
    }
    return out;
  }

  async list(em: EntityManager, kind?: OrgKind): Promise<Organization[]> {
    return em.find(Organization, kind ? { kind } : {}, { orderBy: { id: "asc" } });
  }

  async get(em: EntityManager, id: string): Promise<Organization | null> {
    return em.findOne(Organization, { id });
  }

  /** Registers or renames an org on an operator's word; the audit trail records who did it. */
  async register(em: EntityManager, actor: Viewer, input: { id: string; name: string; kind: OrgKind }): Promise<Organization> {
    return em.transactional(async (tx) => {
      await query(
        tx,
        `insert into hub.organization (id, name, kind, provisioned_by) values ($1, $2, $3, 'OPERATOR')
         on conflict (id) do update set name = excluded.name, kind = excluded.kind, provisioned_by = 'OPERATOR'`,
        [input.id, input.name, input.kind],
      );
      await query(
        tx,
        `insert into hub.audit (actor_org, actor_sub, action, target, detail) values ($1, $2, 'organization.register', $3, $4::jsonb)`,
        [actor.org, actor.sub, input.id, JSON.stringify({ name: input.name, kind: input.kind })],
      );
      this.known.set(input.id, input.kind);
      return (await tx.findOneOrFail(Organization, { id: input.id }, { refresh: true }));
    });
  }
}
