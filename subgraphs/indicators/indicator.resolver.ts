import type { GraphQLResolveInfo } from "graphql";
import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, Float, ID, Info, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import { requireScope } from "../../src/graphql/auth-checker.js";
import type { Tlp } from "../../src/auth/tlp.js";
import { TlpEnum } from "../../src/graphql/common.types.js";
import type { Context } from "../../src/graphql/context.js";
import { selectsField } from "../../src/graphql/selection.js";
import type { HubEvent } from "../../src/events/event.js";
import { IndicatorFilter, IndicatorInput } from "./indicator.input.js";
import { IndicatorService, TOPIC_PUBLISHED, TOPIC_REVOKED } from "./indicator.service.js";
import { StixImportService } from "./stix-import.service.js";
import { StixImportStatus } from "./stix-import.status.js";
import { Indicator, IndicatorConnection, IndicatorEvent, PublishIndicatorsResult, StixExport } from "./indicator.type.js";

@ArgsType()
class IndicatorsArgs {
  @Field(() => IndicatorFilter, { nullable: true })
  filter?: IndicatorFilter | null;

  @Field(() => Int, { nullable: true, description: "Page size, 1-500 (default 50)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

/** A subscription's source: the log's events on one topic that the viewer may see, from `after`. */
function feedOf(topic: typeof TOPIC_PUBLISHED | typeof TOPIC_REVOKED) {
  return ({ args, context }: { args: { after?: string | null }; context: Context }) => {
    requireScope(context, "indicators:read");
    return new IndicatorService(context).subscribe(topic, args.after);
  };
}

@Resolver(() => Indicator)
export class IndicatorResolver {
  @Authorized("indicators:read")
  @Query(() => Indicator, { nullable: true, description: "One indicator, if the viewer may see it" })
  indicator(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Indicator | null> {
    return new IndicatorService(ctx).byId(id);
  }

  @Authorized("indicators:read")
  @Query(() => IndicatorConnection, { description: "Newest first; keyset pages" })
  indicators(@Args() { filter, first, after }: IndicatorsArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<IndicatorConnection> {
    return new IndicatorService(ctx).list(filter, first, after, selectsField(info, "totalCount"));
  }

  @Authorized("indicators:read")
  @Query(() => StixExport, { description: "The same pages as `indicators`, as STIX 2.1 bundles" })
  indicatorsStix(@Args() { filter, first, after }: IndicatorsArgs, @Ctx() ctx: Context): Promise<StixExport> {
    return new IndicatorService(ctx).exportStix(filter, first, after);
  }

  @Authorized("indicators:read")
  @Query(() => [Indicator], { description: "Exact match on the normalised value, up to 1000 values" })
  lookupIndicators(
    @Arg("values", () => [String]) values: string[],
    @Arg("minScore", () => Float, { nullable: true, description: "Only indicators whose score is at least this, 0-100" }) minScore: number | null,
    @Arg("includeExpired", () => Boolean, { nullable: true, description: "Include expired and revoked indicators (default false)" }) includeExpired: boolean | null,
    @Ctx() ctx: Context,
  ): Promise<Indicator[]> {
    return new IndicatorService(ctx).lookup(values, { minScore, includeExpired });
  }

  @Authorized("indicators:write")
  @Mutation(() => PublishIndicatorsResult, { description: "Up to 1000 items; each is stored or refused on its own" })
  publishIndicators(@Arg("input", () => [IndicatorInput]) input: IndicatorInput[], @Ctx() ctx: Context): Promise<PublishIndicatorsResult> {
    return new IndicatorService(ctx).publish(input);
  }

  @Authorized("indicators:write")
  @Mutation(() => StixImportStatus, {
    description:
      "Import every object of a STIX 2.1 bundle, each under its own id and version. Up to 1000 objects the answer is complete; above, it is pending: poll stixImport(id)",
  })
  importStixBundle(
    @Arg("bundle", () => GraphQLJSONObject) bundle: Record<string, unknown>,
    @Arg("tlp", () => TlpEnum, { description: "For objects without a TLP marking of their own; marked objects take the most restrictive level they carry" }) tlp: Tlp,
    @Arg("sharedWith", () => [String], { nullable: true, description: "Orgs that may see the AMBER and RED objects" }) sharedWith: string[] | null,
    @Ctx() ctx: Context,
  ): Promise<StixImportStatus> {
    return new IndicatorService(ctx).importStix(bundle, tlp, sharedWith);
  }

  @Authorized("indicators:write")
  @Query(() => StixImportStatus, { nullable: true, description: "An import of the viewer's org, as it stands (null for any other)" })
  stixImport(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<StixImportStatus | null> {
    return new StixImportService(ctx).status(id);
  }

  @Authorized("indicators:write")
  @Mutation(() => Indicator, { nullable: true, description: "Owner only; null when no such indicator is visible" })
  revokeIndicator(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Indicator | null> {
    return new IndicatorService(ctx).revoke(id);
  }

  @Subscription(() => IndicatorEvent, {
    description: "Indicators as they are published; with `after`, first everything since that cursor",
    subscribe: feedOf(TOPIC_PUBLISHED),
  })
  indicatorPublished(
    @Root() event: HubEvent,
    @Arg("after", () => String, { nullable: true }) _after: string | null,
    @Ctx() ctx: Context,
  ): IndicatorEvent {
    return IndicatorService.toEvent(event, ctx.viewer);
  }

  @Subscription(() => IndicatorEvent, {
    description: "Indicators as their owners revoke them; with `after`, first everything since that cursor",
    subscribe: feedOf(TOPIC_REVOKED),
  })
  indicatorRevoked(
    @Root() event: HubEvent,
    @Arg("after", () => String, { nullable: true }) _after: string | null,
    @Ctx() ctx: Context,
  ): IndicatorEvent {
    return IndicatorService.toEvent(event, ctx.viewer);
  }
}

@Resolver(() => IndicatorConnection)
export class IndicatorConnectionResolver {
  @FieldResolver(() => Int, { description: "How many indicators match the filter, counting only those the viewer may see" })
  totalCount(@Root() connection: IndicatorConnection): Promise<number> {
    return connection.count();
  }
}
