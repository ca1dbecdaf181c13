import type { EntityManager } from "@mikro-orm/postgresql";
import type { Viewer } from "../../src/auth/viewer.js";
import { query } from "../../src/db/sql.js";
import { badInput } from "../../src/errors.js";
import { InputError } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { RESELLER_ACCOUNTS } from "./account.projection.js";
import type { ResellerLinkInput } from "./link.input.js";
import { parseAccountRef, toLink, type LinkRow } from "./link.row.js";
import type { EndResellerLinkResult, RecordResellerLinksResult, ResellerLinkItemResult } from "./link.type.js";
import { checkEndAt, checkLink, MAX_LINKS, type ValidLink } from "./link.validation.js";

/** Link writes take turns: a cycle check is only sound against a forest no one else is changing. */
const FOREST_LOCK = 0x52_53_4c_4b;

interface KnownAccount {
  id: string;
  provider: string;
  kind: string;
}

const accountId = (uuid: string) => `account--${uuid}`;

/**
 * Recording and ending reseller links, with the closure of the active links (resellers.ancestry) kept
 * in the same transaction: recording p → c adds every (ancestor-or-self of p) × (c's subtree-or-self)
 * pair; ending it removes the pairs joining c's subtree-or-self to p's ancestors-or-self.
 */
export class LinkService {
  constructor(private readonly ctx: Context) {}

  private get em(): EntityManager {
    return this.ctx.em;
  }

  private get viewer(): Viewer {
    return this.ctx.viewer;
  }

  async record(inputs: ResellerLinkInput[]): Promise<RecordResellerLinksResult> {
    if (inputs.length > MAX_LINKS) throw badInput(`input: at most ${MAX_LINKS} links per call (got ${inputs.length}); split the batch`, "input");
    const now = new Date();
    const errors = new Map<number, InputError>();
    const valid = new Map<number, ValidLink>();
    const childAt = new Map<string, number>();
    inputs.forEach((input, index) => {
      if (this.viewer.orgKind !== "PROVIDER") {
        return void errors.set(index, new InputError("only a PROVIDER org records reseller links, between accounts of its own", null, "FORBIDDEN"));
      }
      const checked = checkLink(input, now);
      if (!checked.ok) return void errors.set(index, checked.error);
      const first = childAt.get(checked.value.child);
      if (first !== undefined) {
        return void errors.set(index, new InputError(`childAccountId: also the child of item ${first}; an account has one active parent`, "childAccountId"));
      }
      childAt.set(checked.value.child, index);
      valid.set(index, checked.value);
    });
    await this.checkAccounts(valid, errors);
    await this.checkOperators(valid, errors);

    const results = new Map<number, ResellerLinkItemResult>();
    if (valid.size) {
      await this.em.transactional(async (em) => {
        await query(em, "select pg_advisory_xact_lock($1)", [FOREST_LOCK], "reseller_forest_lock");
        await this.write(em, valid, errors, results);
      });
    }
    const out = inputs.map((_, index) => results.get(index) ?? { index, link: null, error: errors.get(index)!, changed: false });
    const recorded = out.filter((r) => r.link).length;
    return { results: out, recorded, failed: inputs.length - recorded };
  }

  /** Both accounts known to the projection and the viewer's own; the parent a RESELLER account. */
  private async checkAccounts(valid: Map<number, ValidLink>, errors: Map<number, InputError>): Promise<void> {
    const ids = [...new Set([...valid.values()].flatMap((l) => [l.parent, l.child]))];
    if (!ids.length) return;
    let known = await this.accounts(ids);
    if (known.size < ids.length) {
      // An account registered a moment ago may not have reached the projection yet.
      await this.ctx.projections.get(RESELLER_ACCOUNTS)!.sync();
      known = await this.accounts(ids);
    }
    for (const [index, link] of valid) {
      const parent = known.get(link.parent);
      const child = known.get(link.child);
      // Another provider's account answers as none at all: nothing reveals that it exists.
      let error: InputError | null = null;
      if (!parent || parent.provider !== this.viewer.org) error = new InputError("parentAccountId: no account of yours with this id", "parentAccountId", "NOT_FOUND");
      else if (!child || child.provider !== this.viewer.org) error = new InputError("childAccountId: no account of yours with this id", "childAccountId", "NOT_FOUND");
      else if (parent.kind !== "RESELLER") error = new InputError(`parentAccountId: ${accountId(link.parent)} is a ${parent.kind} account; a parent must be a RESELLER account`, "parentAccountId");
      if (error) {
        errors.set(index, error);
        valid.delete(index);
      }
    }
  }

  private async accounts(ids: string[]): Promise<Map<string, KnownAccount>> {
    const rows = await query<KnownAccount>(this.em, "select id, provider, kind from resellers.account where id = any($1::uuid[])", [ids], "reseller_accounts_by_ids");
    return new Map(rows.map((r) => [r.id, r]));
  }

  private async checkOperators(valid: Map<number, ValidLink>, errors: Map<number, InputError>): Promise<void> {
    const named = [...new Set([...valid.values()].flatMap((l) => (l.operatorOrg ? [l.operatorOrg] : [])))];
    if (!named.length) return;
    const kinds = await this.ctx.hub.orgs.kinds(this.em, named);
    for (const [index, link] of valid) {
      if (link.operatorOrg && kinds.get(link.operatorOrg) !== "RESELLER") {
        errors.set(index, new InputError(`operatorOrg: '${link.operatorOrg}' is not a member RESELLER org`, "operatorOrg"));
        valid.delete(index);
      }
    }
  }

  private async write(em: EntityManager, valid: Map<number, ValidLink>, errors: Map<number, InputError>, results: Map<number, ResellerLinkItemResult>): Promise<void> {
    const children = [...valid.values()].map((l) => l.child);
    const active = await query<LinkRow>(em, "select * from resellers.link where child_id = any($1::uuid[]) and until is null", [children], "reseller_links_active");
    const activeByChild = new Map(active.map((r) => [r.child_id, r]));
    const refuse = (index: number, error: InputError) => {
      errors.set(index, error);
      valid.delete(index);
    };
    for (const [index, link] of valid) {
      const current = activeByChild.get(link.child);
      if (!current) continue;
      if (current.parent_id !== link.parent) {
        refuse(index, new InputError(`childAccountId: already provided through ${accountId(current.parent_id)}; end that link first (endResellerLink)`, "childAccountId"));
      } else if (current.operator_org !== link.operatorOrg) {
        refuse(index, new InputError("operatorOrg: the active link names another operator; end it and record it again", "operatorOrg"));
      } else {
        results.set(index, { index, link: toLink(current), error: null, changed: false });
        valid.delete(index);
      }
    }
    if (!valid.size) return;

    // Ancestors (with distance) of every parent in the closure as it stands, then through this batch's links.
    const parents = [...new Set([...valid.values()].map((l) => l.parent))];
    const stored = await query<{ descendant: string; ancestor: string; depth: number }>(
      em,
      "select descendant, ancestor, depth from resellers.ancestry where descendant = any($1::uuid[])",
      [parents],
      "reseller_ancestors_of_parents",
    );
    const storedUp = new Map<string, Map<string, number>>();
    for (const r of stored) {
      if (!storedUp.has(r.descendant)) storedUp.set(r.descendant, new Map());
      storedUp.get(r.descendant)!.set(r.ancestor, r.depth);
    }
    const accepted = new Map<string, string>(); // child → parent, of this batch
    const upOrSelf = (node: string): Map<string, number> => {
      const out = new Map<string, number>([[node, 0], ...(storedUp.get(node) ?? [])]);
      // The top of a stored chain may be a child in this batch: its new parent's ancestors are above it too.
      for (const [top, distance] of [...out]) {
        const parent = accepted.get(top);
        if (parent) for (const [a, d] of upOrSelf(parent)) out.set(a, distance + 1 + d);
      }
      return out;
    };
    for (const [index, link] of valid) {
      if (upOrSelf(link.parent).has(link.child)) {
        refuse(index, new InputError(`childAccountId: ${accountId(link.child)} is already above ${accountId(link.parent)}; the link would make a cycle`, "childAccountId"));
      } else {
        accepted.set(link.child, link.parent);
      }
    }
    if (!valid.size) return;
    // With every accepted link in place: a later item may have put resellers above an earlier one's parent.
    const closureRows = [...valid.values()].flatMap((link) => [...upOrSelf(link.parent)].map(([ancestor, depth]) => ({ child: link.child, ancestor, depth })));

    const items = [...valid];
    const written = await query<LinkRow>(
      em,
      `insert into resellers.link (parent_id, child_id, since, recorded_by, operator_org)
       select u.parent_id, u.child_id, u.since, $1, u.operator_org
         from unnest($2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[]) as u(parent_id, child_id, since, operator_org)
       returning *`,
      [this.viewer.org, items.map(([, l]) => l.parent), items.map(([, l]) => l.child), items.map(([, l]) => l.since), items.map(([, l]) => l.operatorOrg)],
      "reseller_links_insert",
    );
    // Each new pair runs through exactly one lowest new link c's parent → c: its ancestor is at or above
    // that parent, its descendant in c's subtree as stored before this statement (which sees none of its own rows).
    await query(
      em,
      `insert into resellers.ancestry (ancestor, descendant, depth)
       select u.ancestor, d.descendant, u.depth + 1 + d.depth
         from jsonb_to_recordset($1::jsonb) as u(child uuid, ancestor uuid, depth int)
         cross join lateral (select x.descendant, x.depth from resellers.ancestry x where x.ancestor = u.child
                             union all select u.child, 0) d`,
      [JSON.stringify(closureRows)],
      "reseller_ancestry_add",
    );
    const byChild = new Map(written.map((r) => [r.child_id, r]));
    for (const [index, link] of items) results.set(index, { index, link: toLink(byChild.get(link.child)!), error: null, changed: true });
  }

  async end(childAccountId: string, at: Date | null | undefined): Promise<EndResellerLinkResult> {
    const refused = (error: InputError): EndResellerLinkResult => ({ link: null, error });
    if (this.viewer.orgKind !== "PROVIDER") return refused(new InputError("only a PROVIDER org ends reseller links, between accounts of its own", null, "FORBIDDEN"));
    const child = parseAccountRef(childAccountId);
    if (!child) return refused(new InputError("childAccountId: not an account id (account--<uuid>)", "childAccountId"));
    const checked = checkEndAt(at, new Date());
    if (!checked.ok) return refused(checked.error);
    const until = checked.value;
    return this.em.transactional(async (em) => {
      await query(em, "select pg_advisory_xact_lock($1)", [FOREST_LOCK], "reseller_forest_lock");
      const [link] = await query<LinkRow>(
        em,
        "select * from resellers.link where child_id = $1 and until is null and recorded_by = $2",
        [child, this.viewer.org],
        "reseller_link_active_of",
      );
      if (!link) return refused(new InputError("childAccountId: no active reseller link of yours above this account", "childAccountId", "NOT_FOUND"));
      if (until < new Date(link.since)) return refused(new InputError(`at: before the link's since (${new Date(link.since).toISOString()})`, "at"));
      const [ended] = await query<LinkRow>(em, "update resellers.link set until = $2 where id = $1 returning *", [link.id, until], "reseller_link_end");
      await query(
        em,
        `delete from resellers.ancestry x
          using (select ancestor from resellers.ancestry where descendant = $1 union all select $1::uuid) a,
                (select descendant from resellers.ancestry where ancestor = $2 union all select $2::uuid) d
          where x.ancestor = a.ancestor and x.descendant = d.descendant`,
        [link.parent_id, link.child_id],
        "reseller_ancestry_remove",
      );
      return { link: toLink(ended!), error: null };
    });
  }
}
