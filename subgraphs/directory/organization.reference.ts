import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { Organization } from "../../src/orgs/organization.entity.js";

async function organizationsByIds(ctx: Context, ids: readonly string[]): Promise<(Organization | null)[]> {
  const rows = await ctx.em.find(Organization, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((o) => [o.id, o]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** The directory is readable by every member with a valid token; nothing more to check. */
export const organizationReferences = {
  Organization: {
    __resolveReference: (reference: { id: string }, ctx: Context) =>
      loaderFor<string, Organization>(ctx, "organization", (ids) => organizationsByIds(ctx, ids)).load(reference.id),
  },
};
