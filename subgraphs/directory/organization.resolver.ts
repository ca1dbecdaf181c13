import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { OrgKind } from "../../src/auth/viewer.js";
import type { Context } from "../../src/graphql/context.js";
import { Organization, OrgKindEnum } from "../../src/orgs/organization.entity.js";
import { OrganizationInput } from "./organization.input.js";
import { OrganizationService } from "./organization.service.js";
import { OrganizationResult, ViewerInfo } from "./organization.type.js";

/** The member directory: every member may read it, to know whom to share with; operators keep it. */
@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => [Organization], { description: "Member organisations, optionally of one kind" })
  organizations(@Arg("kind", () => OrgKindEnum, { nullable: true }) kind: OrgKind | null, @Ctx() ctx: Context): Promise<Organization[]> {
    return new OrganizationService(ctx).list(kind);
  }

  @Query(() => Organization, { nullable: true })
  organization(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Organization | null> {
    return new OrganizationService(ctx).get(id);
  }

  @Query(() => String, {
    description:
      "The event log's current cursor: subscribe to any feed with `after` set to it to receive everything from this moment on; " +
      "read current state after taking it and nothing falls between the read and the feed.",
  })
  eventLogCursor(@Ctx() ctx: Context): Promise<string> {
    return new OrganizationService(ctx).eventLogCursor();
  }

  @Query(() => ViewerInfo, { description: "Who the hub takes the caller to be" })
  viewer(@Ctx() ctx: Context): ViewerInfo {
    return new OrganizationService(ctx).whoami();
  }

  @Authorized("admin")
  @Mutation(() => OrganizationResult, { description: "Operators only: register an org, or correct its name or kind" })
  registerOrganization(@Arg("input", () => OrganizationInput) input: OrganizationInput, @Ctx() ctx: Context): Promise<OrganizationResult> {
    return new OrganizationService(ctx).register(input);
  }
}
