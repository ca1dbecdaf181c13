import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { HubEvent } from "../../src/events/event.js";
import { requireScope } from "../../src/graphql/auth-checker.js";
import type { Context } from "../../src/graphql/context.js";
import { IncidentFeedFilter, IncidentFilter, IncidentInput, IncidentUpdate } from "./incident.input.js";
import { IncidentService } from "./incident.service.js";
import { AccountLink, Incident, IncidentConnection, IncidentEvent, IncidentResult, IncidentTimes, IndicatorLink, TimelineEntry } from "./incident.type.js";

@ArgsType()
class IncidentsArgs {
  @Field(() => IncidentFilter, { nullable: true })
  filter?: IncidentFilter | null;

  @Field(() => Int, { nullable: true, description: "Page size, 1-500 (default 50)" })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "endCursor of the previous page" })
  after?: string | null;
}

@ArgsType()
class IncidentFeedArgs {
  @Field(() => IncidentFeedFilter, { nullable: true })
  filter?: IncidentFeedFilter | null;

  @Field(() => String, { nullable: true, description: "Resume after this event's cursor: everything since is replayed first, once, in order" })
  after?: string | null;
}

@Resolver(() => Incident)
export class IncidentResolver {
  @Authorized("incidents:read")
  @Query(() => Incident, { nullable: true, description: "One incident, if the viewer may see it" })
  incident(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<Incident | null> {
    return new IncidentService(ctx).byId(id);
  }

  @Authorized("incidents:read")
  @Query(() => IncidentConnection, { description: "Newest first; keyset pages" })
  incidents(@Args() { filter, first, after }: IncidentsArgs, @Ctx() ctx: Context): Promise<IncidentConnection> {
    return new IncidentService(ctx).list(filter, first, after);
  }

  @Authorized("incidents:write")
  @Mutation(() => IncidentResult, { description: "Report an incident; reporting a sourceRef again updates that incident" })
  reportIncident(@Arg("input", () => IncidentInput) input: IncidentInput, @Ctx() ctx: Context): Promise<IncidentResult> {
    return new IncidentService(ctx).report(input);
  }

  @Authorized("incidents:write")
  @Mutation(() => IncidentResult, { description: "The reporter's changes, status moves included" })
  updateIncident(@Arg("id", () => ID) id: string, @Arg("input", () => IncidentUpdate) input: IncidentUpdate, @Ctx() ctx: Context): Promise<IncidentResult> {
    return new IncidentService(ctx).update(id, input);
  }

  @Authorized("incidents:write")
  @Mutation(() => IncidentResult, { description: "A note on the timeline: by the reporter, or an agency the incident is referred to" })
  addIncidentNote(@Arg("id", () => ID) id: string, @Arg("text", { description: "1-10,000 characters" }) text: string, @Ctx() ctx: Context): Promise<IncidentResult> {
    return new IncidentService(ctx).addNote(id, text);
  }

  @Authorized("incidents:write")
  @Mutation(() => IncidentResult, { description: "The reporter refers a crime or a threat to national security to agencies" })
  referIncident(@Arg("id", () => ID) id: string, @Arg("agencies", () => [String]) agencies: string[], @Ctx() ctx: Context): Promise<IncidentResult> {
    return new IncidentService(ctx).refer(id, agencies);
  }

  @Subscription(() => IncidentEvent, {
    description: "Every incident event the viewer may see that passes the filter; with `after`, first everything since that cursor",
    subscribe: ({ args, context }: { args: IncidentFeedArgs; context: Context }) => {
      requireScope(context, "incidents:read");
      return new IncidentService(context).subscribe(args.filter, args.after);
    },
  })
  incidentFeed(@Root() event: HubEvent, @Args() _args: IncidentFeedArgs, @Ctx() ctx: Context): IncidentEvent {
    // A subscription keeps one context for all its events: each event reads current links afresh.
    ctx.loaders.clear();
    return IncidentService.toEvent(event, ctx.viewer);
  }

  @FieldResolver(() => [IndicatorLink], { description: "Linked indicators the viewer may see" })
  indicators(@Root() incident: Incident, @Ctx() ctx: Context): Promise<{ id: string }[]> {
    return new IncidentService(ctx).indicators(incident);
  }

  @FieldResolver(() => [AccountLink], { description: "Linked accounts the viewer may see: its own, and those flagged visibly to it" })
  accounts(@Root() incident: Incident, @Ctx() ctx: Context): Promise<{ id: string }[]> {
    return new IncidentService(ctx).accounts(incident);
  }

  @FieldResolver(() => [TimelineEntry], { description: "The case's steps the viewer may read, oldest first" })
  timeline(@Root() incident: Incident, @Ctx() ctx: Context): Promise<TimelineEntry[]> {
    return new IncidentService(ctx).timeline(incident);
  }

  @FieldResolver(() => IncidentTimes, { description: "Times to triage, contain and close, from the timeline" })
  times(@Root() incident: Incident, @Ctx() ctx: Context): Promise<IncidentTimes> {
    return new IncidentService(ctx).times(incident);
  }
}

@Resolver(() => IndicatorLink)
export class IndicatorIncidentsResolver {
  @FieldResolver(() => [Incident], { description: "Incidents linking this indicator that the viewer may see, newest first (the newest 500)" })
  incidents(@Root() indicator: IndicatorLink, @Ctx() ctx: Context): Promise<Incident[]> {
    requireScope(ctx, "incidents:read");
    return new IncidentService(ctx).incidentsOfIndicator(indicator.id);
  }
}

@Resolver(() => AccountLink)
export class AccountIncidentsResolver {
  @FieldResolver(() => [Incident], { description: "Incidents linking this account that the viewer may see, newest first (the newest 500)" })
  incidents(@Root() account: AccountLink, @Ctx() ctx: Context): Promise<Incident[]> {
    requireScope(ctx, "incidents:read");
    return new IncidentService(ctx).incidentsOfAccount(account.id);
  }
}

@Resolver(() => IncidentConnection)
export class IncidentConnectionResolver {
  @FieldResolver(() => Int, { description: "How many incidents match the filter, counting only those the viewer may see" })
  totalCount(@Root() connection: IncidentConnection): Promise<number> {
    return connection.count();
  }
}
