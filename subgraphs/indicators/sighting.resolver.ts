import { Args, Authorized, Ctx, FieldResolver, Float, Mutation, Resolver, Root } from "type-graphql";
import type { Context } from "../../src/graphql/context.js";
import { loaderFor } from "../../src/graphql/loader.js";
import { decayOf, type Decay } from "./indicator.score.js";
import { parseIndicatorId } from "./indicator.row.js";
import { Indicator } from "./indicator.type.js";
import { ReportSightingArgs } from "./sighting.input.js";
import { SightingService } from "./sighting.service.js";
import { ReportSightingResult, SightingSummary } from "./sighting.type.js";

/** Score and expiry of indicators in hand, batched per request: one statement for a page or an `_entities` call. */
function decayLoader(ctx: Context) {
  return loaderFor<string, Decay>(ctx, "indicatorDecay", (keys) =>
    decayOf(ctx.em, ctx.viewer, ctx.hub.config.decay, keys.map((k) => {
      const [owner, id] = k.split("\u0000");
      return { owner: owner!, id: id! };
    })),
  );
}

const keyOf = (indicator: Indicator) => `${indicator.owner}\u0000${parseIndicatorId(indicator.id)}`;

@Resolver(() => Indicator)
export class SightingResolver {
  @Authorized("indicators:write")
  @Mutation(() => ReportSightingResult, { description: "Report that the caller's org saw an indicator it may see; refused items come back as errors naming the field" })
  reportSighting(@Args() args: ReportSightingArgs, @Ctx() ctx: Context): Promise<ReportSightingResult> {
    return new SightingService(ctx).report(args);
  }

  @FieldResolver(() => SightingSummary, { description: "Sightings of this indicator's STIX id by any org, counting only those the viewer may see" })
  async sightings(@Root() indicator: Indicator, @Ctx() ctx: Context): Promise<SightingSummary> {
    const loader = loaderFor<string, SightingSummary>(ctx, "sightingSummaries", (uuids) => new SightingService(ctx).summaries(uuids));
    return (await loader.load(parseIndicatorId(indicator.id)!))!;
  }

  @FieldResolver(() => Float, { description: "Confidence decayed with age, for this viewer (see Sightings and scores); 0 once expired" })
  async score(@Root() indicator: Indicator, @Ctx() ctx: Context): Promise<number> {
    return (await decayLoader(ctx).load(keyOf(indicator)))?.score ?? 0;
  }

  @FieldResolver(() => Boolean, { description: "Past its lifetime since its last sign of life the viewer may see, past validUntil, or revoked" })
  async expired(@Root() indicator: Indicator, @Ctx() ctx: Context): Promise<boolean> {
    return (await decayLoader(ctx).load(keyOf(indicator)))?.expired ?? true;
  }
}
