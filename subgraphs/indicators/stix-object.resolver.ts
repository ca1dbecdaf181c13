import { Arg, Authorized, Ctx, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { StixObjectsFilter } from "./stix-object.input.js";
import { StixObjectService } from "./stix-object.service.js";
import { StixObjectsPage } from "./stix-object.type.js";

@Resolver()
export class StixObjectResolver {
  @Authorized("indicators:read")
  @Query(() => StixObjectsPage, { description: "Stored STIX objects the viewer may see, as TAXII serves them; keyset pages in the order added" })
  stixObjects(
    @Arg("filter", () => StixObjectsFilter, { nullable: true }) filter: StixObjectsFilter | null,
    @Arg("first", () => Int, { nullable: true, description: "Page size, 1 to TAXII_MAX_PAGE_SIZE (default 100)" }) first: number | null,
    @Arg("after", () => String, { nullable: true, description: "endCursor of the previous page, with the same filter" }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<StixObjectsPage> {
    return new StixObjectService(ctx).page(filter, first, after);
  }
}
