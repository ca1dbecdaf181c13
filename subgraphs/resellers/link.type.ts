import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { InputError, PageInfo } from "../../src/graphql/common.types.js";

export const GRAPH_FORMATS = ["DOT", "MERMAID"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];
export const GraphFormatEnum = { DOT: "DOT", MERMAID: "MERMAID" } as const;
registerEnumType(GraphFormatEnum, { name: "GraphFormat", description: "DOT (Graphviz) or MERMAID (flowchart) text" });

/**
 * The accounts subgraph's entity, as far as this subgraph links to it and adds to it: only its id is
 * known here. The gateway resolves any other field in the accounts subgraph, under that subgraph's rules.
 */
@Directive(`@key(fields: "id")`)
@ObjectType("Account")
export class AccountRef {
  @Field(() => ID)
  id!: string;
}

@ObjectType({ description: "A reseller link: the child account was provided through the parent, a RESELLER account" })
export class ResellerLink {
  @Field(() => ID, { description: "reseller-link--<uuid>" })
  id!: string;

  @Field(() => AccountRef)
  parent!: AccountRef;

  @Field(() => AccountRef)
  child!: AccountRef;

  @Field()
  since!: Date;

  @Field(() => Date, { nullable: true, description: "When the link ended; null while it is active" })
  until!: Date | null;

  @Field({ description: "The provider org that recorded it" })
  recordedBy!: string;

  @Field(() => String, { nullable: true, description: "The member RESELLER org that operates the parent account, if named" })
  operatorOrg!: string | null;
}

@ObjectType({ description: "The outcome for one input item, at the same index as the input" })
export class ResellerLinkItemResult {
  @Field(() => Int)
  index!: number;

  @Field(() => ResellerLink, { nullable: true })
  link!: ResellerLink | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;

  @Field({ description: "False when the same link was already active (nothing written), and for a refused item" })
  changed!: boolean;
}

@ObjectType()
export class RecordResellerLinksResult {
  @Field(() => [ResellerLinkItemResult], { description: "One per input item, in input order" })
  results!: ResellerLinkItemResult[];

  @Field(() => Int, { description: "Items accepted: new links, and links already active as given" })
  recorded!: number;

  @Field(() => Int)
  failed!: number;
}

@ObjectType({ description: "The ended link, or why it was not ended (error.field names the argument at fault)" })
export class EndResellerLinkResult {
  @Field(() => ResellerLink, { nullable: true })
  link!: ResellerLink | null;

  @Field(() => InputError, { nullable: true })
  error!: InputError | null;
}

@ObjectType({ description: "One reseller above an account: depth 1 is the reseller that provided it" })
export class ChainHop {
  @Field(() => Int)
  depth!: number;

  @Field(() => AccountRef)
  account!: AccountRef;

  @Field({ description: "The account holder's jurisdiction, ISO 3166-1 alpha-2" })
  jurisdiction!: string;

  @Field({ description: "A flag is in force on the account (ACTIVE and not expired)" })
  flagged!: boolean;
}

@ObjectType()
export class DownstreamEdge {
  @Field()
  cursor!: string;

  @Field(() => Int, { description: "How many links below the account asked about" })
  depth!: number;

  @Field(() => AccountRef)
  node!: AccountRef;
}

@ObjectType({ description: "Accounts below an account, in order of id; keyset pages" })
export class DownstreamConnection {
  @Field(() => [DownstreamEdge])
  edges!: DownstreamEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class CountByKey {
  @Field()
  key!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: "What sits below an account in the reseller forest (the account itself not counted)" })
export class Exposure {
  @Field(() => Int)
  total!: number;

  @Field(() => Int, { description: "Accounts with a flag in force" })
  flagged!: number;

  @Field(() => Float, { description: "flagged / total; 0 when nothing is below" })
  shareFlagged!: number;

  @Field(() => Int, { description: "The deepest link below; 0 when nothing is below" })
  maxDepth!: number;

  @Field(() => [CountByKey], { description: "Accounts below by holder jurisdiction, most first" })
  byJurisdiction!: CountByKey[];

  @Field(() => [CountByKey], { description: "Flagged accounts below by flag category (an account counts once per category), most first" })
  byCategory!: CountByKey[];
}

@ObjectType({ description: "A chain: an account at the bottom of the forest (nothing below it) and the resellers above it" })
export class ResellerChain {
  @Field(() => AccountRef)
  account!: AccountRef;

  @Field({ description: "The bottom account's jurisdiction" })
  jurisdiction!: string;

  @Field()
  flagged!: boolean;

  @Field(() => [ChainHop], { description: "Nearest first, as Account.resellerChain" })
  hops!: ChainHop[];
}

@ObjectType()
export class ResellerChainEdge {
  @Field()
  cursor!: string;

  @Field(() => ResellerChain)
  node!: ResellerChain;
}

@ObjectType()
export class ResellerChainConnection {
  @Field(() => [ResellerChainEdge])
  edges!: ResellerChainEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "A reseller account and the share of flagged accounts below it" })
export class RiskyReseller {
  @Field(() => AccountRef)
  account!: AccountRef;

  @Field()
  jurisdiction!: string;

  @Field(() => Int, { description: "Accounts below" })
  total!: number;

  @Field(() => Int)
  flagged!: number;

  @Field(() => Float)
  shareFlagged!: number;
}
