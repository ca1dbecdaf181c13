import { createHash } from "node:crypto";
import {
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  parse,
  print,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type VariableDefinitionNode,
} from "graphql";
import type { Viewer } from "../src/auth/viewer.js";
import { ErrorCode, expectedCode, expectedError, unauthenticated } from "../src/errors.js";
import { decodeCursor, encodeCursor } from "../src/events/cursor.js";
import type { Logger } from "../src/logger.js";

/** The hidden selection that tells the gateway each event's position; clients never see it. */
export const CURSOR_ALIAS = "__wfCursor";
/** The variable the gateway sets to start (or restart) an upstream at a position of its choosing. */
export const AFTER_VARIABLE = "__wfAfter";

/** The gateway's enveloped execution functions and one context built for them (gateway.ts). */
export interface Envelope {
  execute: (args: OperationArgs) => unknown;
  subscribe: (args: OperationArgs) => unknown;
  contextValue: unknown;
}

interface OperationArgs {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variableValues?: Record<string, unknown> | null;
  contextValue: unknown;
  rootValue?: unknown;
}

/** What graphql-ws hands the gateway's `subscribe` (see gateway.ts). */
export interface SubscribeArgs extends OperationArgs {
  rootValue: {
    execute: (args: OperationArgs) => unknown;
    subscribe: (args: OperationArgs) => unknown;
    /** A new enveloped context for the same socket and token: one per upstream the gateway starts. */
    envelope?: () => Promise<Envelope>;
  };
}

export interface SharedSubscriptionsOptions {
  log: Logger;
  /** The gateway's error masking: anything unexpected caught here is masked (and logged) the same way. */
  maskError: (error: unknown) => Error;
  /** Events a group keeps so that a subscriber ending its private catch-up joins the group without a gap. */
  ringSize?: number;
  /** Bounds the ring by age as well: a catch-up that has not reached the ring by then goes on reading. */
  ringMaxAgeMs?: number;
  /** A subscriber further behind than this is ended (SUBSCRIBER_TOO_SLOW) instead of holding anyone up. */
  maxQueue?: number;
  /** Restarts after an upstream failure other than token expiry, before the error reaches the subscribers. */
  maxRestarts?: number;
  /** Delay before the first such restart; doubled for each further one. */
  restartDelayMs?: number;
}

export interface SharedSubscriptionStats {
  /** Groups alive now, each with one upstream subscription. */
  groups: number;
  /** Subscribers served through this class now: attached to a group or catching up privately. */
  subscribers: number;
  /** Upstream subscriptions started for groups since the gateway started, restarts included. */
  upstreamsStarted: number;
  /** Private catch-up subscriptions started for subscribers whose cursor was behind their group's position. */
  catchUpsStarted: number;
  /** Subscribers on a private catch-up now. */
  catchingUp: number;
}

/** How a shareable subscription differs from a client's document: see `planShare`. */
interface Plan {
  document: DocumentNode;
  operationName: string | undefined;
  /** The client's variables less its `after` variable when nothing else uses it. */
  variables: Record<string, unknown>;
  /** The root field's response key (its alias, or its name). */
  rootKey: string;
  /** The subscriber's own `after`: the literal, or its variable's value; null when absent. */
  cursor: unknown;
}

interface RingEntry {
  seq: number;
  result: ExecutionResult;
  /** When the group received it (epoch ms). */
  at: number;
}

interface Group {
  key: string;
  org: string;
  plan: Plan;
  schema: GraphQLSchema;
  subscribers: Set<Subscriber>;
  /** The most recent events, oldest first: every visible event with ringFloor < seq <= position. */
  ring: RingEntry[];
  ringFloor: number;
  /** The sequence of the last event processed; an upstream (re)starts after it. */
  position: number;
  upstream?: AsyncIterator<ExecutionResult>;
  /** Subscribers whose token the upstream refused (UNAUTHENTICATED): never chosen again. */
  refused: WeakSet<Subscriber>;
  /** Restarts since the last event, for upstream failures other than token expiry. */
  failures: number;
  closed: boolean;
  /** Ends the wait for the current upstream's next event (handover, or the group stopping). */
  interrupt?: () => void;
  /** Why the current upstream was interrupted, when it was handed over to another token. */
  handover?: string;
}

/** Drops ring entries beyond its size or age; the floor moves up to the last one dropped. */
function trimRing(group: Group, size: number, maxAgeMs: number): void {
  const oldest = Date.now() - maxAgeMs;
  while (group.ring.length && (group.ring.length > size || group.ring[0]!.at < oldest)) group.ringFloor = group.ring.shift()!.seq;
}

const EVENT_LOG_CURSOR = parse("query WatchfloorEventLogCursor { eventLogCursor }");

/** A subscription whose socket is still open this long after its token expired is ended here. */
const EXPIRY_GRACE_MS = 500;
/** An upstream moves to a longer-lived token this long before its own token expires. */
const HANDOVER_MS = 1_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
}

/** JSON with object keys sorted at every depth, so equal variables give equal text. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;

/**
 * Whether a subscription can be served from a shared upstream, and if so the document the upstream
 * runs. Shareable: an operation whose single root field is a feed, that is, it takes `after: String`
 * and returns an object with `cursor: String!`. The root field's `after` becomes `$__wfAfter` (the
 * group's position) and its selection gains `__wfCursor: cursor` (each event's position).
 */
export function planShare(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variableValues: Record<string, unknown> | null | undefined,
): Plan | null {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation || operation.operation !== "subscription") return null;
  const [root, ...others] = operation.selectionSet.selections;
  if (!root || others.length || root.kind !== Kind.FIELD || root.directives?.length || !root.selectionSet) return null;
  const field = schema.getSubscriptionType()?.getFields()[root.name.value];
  if (!field) return null;
  const afterArg = field.args.find((a) => a.name === "after");
  if (!afterArg || isNonNullType(afterArg.type) || !isScalarType(afterArg.type) || afterArg.type.name !== "String") return null;
  const returned = getNamedType(field.type);
  const cursorField = isObjectType(returned) ? returned.getFields().cursor : undefined;
  if (!cursorField || !isNonNullType(cursorField.type)) return null;
  const cursorType = getNullableType(cursorField.type);
  if (!isScalarType(cursorType) || cursorType.name !== "String") return null;
  // A client document that already uses the gateway's hidden names is left alone.
  let reserved = false;
  visit(document, {
    Name(node) {
      if (node.value === CURSOR_ALIAS || node.value === AFTER_VARIABLE) reserved = true;
    },
  });
  if (reserved) return null;

  const variables = { ...(variableValues ?? {}) };
  const given = root.arguments?.find((a) => a.name.value === "after");
  let cursor: unknown = null;
  let clientVariable: string | undefined;
  if (given?.value.kind === Kind.STRING) cursor = given.value.value;
  else if (given?.value.kind === Kind.VARIABLE) {
    clientVariable = given.value.name.value;
    const definition = operation.variableDefinitions?.find((d) => d.variable.name.value === clientVariable);
    const fallback = definition?.defaultValue?.kind === Kind.STRING ? definition.defaultValue.value : null;
    cursor = clientVariable in variables ? variables[clientVariable] : fallback;
  } else if (given && given.value.kind !== Kind.NULL) return null;
  if (cursor !== null && cursor !== undefined && typeof cursor !== "string") return null;

  const afterArgument: ArgumentNode = { kind: Kind.ARGUMENT, name: name("after"), value: { kind: Kind.VARIABLE, name: name(AFTER_VARIABLE) } };
  const cursorSelection: FieldNode = { kind: Kind.FIELD, alias: name(CURSOR_ALIAS), name: name("cursor") };
  const afterDefinition: VariableDefinitionNode = {
    kind: Kind.VARIABLE_DEFINITION,
    variable: { kind: Kind.VARIABLE, name: name(AFTER_VARIABLE) },
    type: { kind: Kind.NAMED_TYPE, name: name("String") },
  };
  const rewrittenRoot: FieldNode = {
    ...root,
    arguments: [...(root.arguments ?? []).filter((a) => a.name.value !== "after"), afterArgument],
    selectionSet: { ...root.selectionSet, selections: [...root.selectionSet.selections, cursorSelection] },
  };
  let rewrittenOperation: OperationDefinitionNode = {
    ...operation,
    variableDefinitions: [...(operation.variableDefinitions ?? []), afterDefinition],
    selectionSet: { ...operation.selectionSet, selections: [rewrittenRoot] },
  };
  let rewritten: DocumentNode = { ...document, definitions: document.definitions.map((d) => (d === operation ? rewrittenOperation : d)) };

  if (clientVariable) {
    // The client's `after` variable goes too, when nothing else in the document uses it.
    let used = false;
    visit(rewritten, {
      VariableDefinition: () => false,
      Variable(node) {
        if (node.name.value === clientVariable) used = true;
      },
    });
    if (!used) {
      const withoutIt: OperationDefinitionNode = {
        ...rewrittenOperation,
        variableDefinitions: rewrittenOperation.variableDefinitions!.filter((d) => d.variable.name.value !== clientVariable),
      };
      rewritten = { ...rewritten, definitions: rewritten.definitions.map((d) => (d === rewrittenOperation ? withoutIt : d)) };
      rewrittenOperation = withoutIt;
      delete variables[clientVariable];
    }
  }
  return {
    document: rewritten,
    operationName: operationName ?? undefined,
    variables,
    rootKey: root.alias?.value ?? root.name.value,
    cursor: cursor ?? null,
  };
}

/** The result a client receives: the same, less the hidden cursor. */
function stripped(result: ExecutionResult, rootKey: string): ExecutionResult {
  const { [CURSOR_ALIAS]: _hidden, ...root } = (result.data as Record<string, Record<string, unknown>>)[rootKey]!;
  return { ...result, data: { ...result.data, [rootKey]: root } };
}

/** The event's sequence, when the result is an event (root data with the hidden cursor). */
function eventSeq(result: ExecutionResult, rootKey: string): number | undefined {
  const root = (result.data as Record<string, unknown> | null | undefined)?.[rootKey] as Record<string, unknown> | null | undefined;
  const cursor = root?.[CURSOR_ALIAS];
  return typeof cursor === "string" ? decodeCursor(cursor) : undefined;
}

/**
 * Upstream failures worth a restart from the group's position: the subgraph unreachable or its socket
 * closed (SUBGRAPH_UNAVAILABLE), its database (SERVICE_UNAVAILABLE), anything unexpected.
 */
const RESTARTABLE = new Set<string>([ErrorCode.SUBGRAPH_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE, "INTERNAL_SERVER_ERROR"]);

const feedUnavailable = () =>
  expectedError(ErrorCode.FEED_UNAVAILABLE, "the feed's source is unavailable: subscribe again later with the cursor of the last event you received");

/** A private catch-up is not restarted: an unavailable source ends it as a feed's outage does. */
function forSubscriber(errors: readonly GraphQLError[] | undefined): readonly GraphQLError[] {
  const code = errorCodeOf(errors);
  return code === ErrorCode.SUBGRAPH_UNAVAILABLE || code === ErrorCode.SERVICE_UNAVAILABLE ? [feedUnavailable()] : (errors ?? []);
}

function errorCodeOf(errors: readonly unknown[] | undefined): string | undefined {
  for (const e of errors ?? []) {
    const code = expectedCode(e) ?? (e as GraphQLError).extensions?.code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/**
 * One graphql-ws subscription served from a group: an async iterator for graphql-ws with its own
 * bounded queue and its own position (`lastSeq`), so that a slow or departing subscriber never holds
 * up the others and never receives an event twice.
 */
class Subscriber implements AsyncIterableIterator<ExecutionResult> {
  /** The sequence of the last event delivered to this subscriber (or its starting cursor). */
  lastSeq = 0;
  group?: Group;
  catchUp?: AsyncIterator<ExecutionResult>;
  finished = false;
  private queue: ExecutionResult[] = [];
  private head = 0;
  private ending = false;

  /** Ended or ending: it takes no more events. */
  get ended(): boolean {
    return this.ending || this.finished;
  }
  private waiting?: (step: IteratorResult<ExecutionResult>) => void;
  private readonly expiry: NodeJS.Timeout;

  constructor(
    readonly key: string,
    readonly plan: Plan,
    readonly schema: GraphQLSchema,
    readonly viewer: Viewer,
    readonly own: Envelope,
    readonly fresh: () => Promise<Envelope>,
    private readonly maxQueue: number,
    private readonly leave: (subscriber: Subscriber) => void,
  ) {
    // As every subscription: nothing is delivered after its token expires, and it ends then; the client
    // resumes with a new token and its cursor. The gateway closes the socket (4403) at that moment; this
    // ends the subscription a little later should the socket still be open.
    this.expiry = setTimeout(
      () => this.fail([unauthenticated("token expired: subscribe again with a new token and your last cursor")]),
      Math.max(0, Math.min(viewer.validUntilMs + EXPIRY_GRACE_MS - Date.now(), 2 ** 31 - 1)),
    );
    this.expiry.unref();
  }

  /** Queues an event unless this subscriber already has it (or anything after it). */
  deliver(seq: number, result: ExecutionResult): void {
    if (this.ending || seq <= this.lastSeq || Date.now() >= this.viewer.validUntilMs) return;
    this.lastSeq = seq;
    if (this.queue.length - this.head >= this.maxQueue) {
      // What is queued is dropped: the client resumes from the last event it did receive.
      this.queue = [];
      this.head = 0;
      this.fail([
        expectedError(
          ErrorCode.SUBSCRIBER_TOO_SLOW,
          `this subscription fell more than ${this.maxQueue} events behind the feed: subscribe again with the cursor of the last event you received`,
        ),
      ]);
      return;
    }
    this.push(result);
  }

  /** Delivers the errors after whatever is queued, then completes. */
  fail(errors: readonly GraphQLError[]): void {
    if (this.ending) return;
    this.push({ errors });
    this.end();
  }

  /** No more events: completes once the queue is drained. */
  end(): void {
    if (this.ending) return;
    this.ending = true;
    clearTimeout(this.expiry);
    this.leave(this);
    if (this.head === this.queue.length) this.resolve({ done: true, value: undefined });
  }

  private push(result: ExecutionResult): void {
    if (this.waiting) this.resolve({ done: false, value: result });
    else this.queue.push(result);
  }

  private resolve(step: IteratorResult<ExecutionResult>): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(step);
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head > 1024) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.ending || this.finished) {
      this.finished = true;
      return Promise.resolve({ done: true, value: undefined });
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** graphql-ws calls this on `complete` and when the socket closes. */
  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.finished = true;
    this.queue = [];
    this.head = 0;
    this.end();
    this.resolve({ done: true, value: undefined });
    return { done: true, value: undefined };
  }

  async throw(err?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Subscribers of the same feed share one upstream subscription and one execution per event.
 *
 * Subscribers that send the same document with the same variables and may see exactly the same
 * events (same org, org kind and scopes) form a group. The group runs one upstream from its position,
 * keeps a ring of its most recent events, and fans each (already executed) result out to every
 * subscriber, each with its own cursor: a subscriber joins at its `after` (or the log's current
 * cursor); when that is behind the group's position, it first catches up on a private upstream of its
 * own, then receives from the ring what the group executed since it came. When the group's upstream ends because
 * its token expired or its socket closed, it restarts from its position with the token of the
 * subscriber whose token lasts longest: the feed replays from a cursor, so nothing is lost.
 */
export class SharedSubscriptions {
  private readonly groups = new Map<string, Group>();
  private readonly catchingUp = new Set<Subscriber>();
  private readonly log: Logger;
  private readonly ringSize: number;
  private readonly ringMaxAgeMs: number;
  private readonly maxQueue: number;
  private readonly maxRestarts: number;
  private readonly restartDelayMs: number;
  private upstreamsStarted = 0;
  private catchUpsStarted = 0;

  constructor(private readonly options: SharedSubscriptionsOptions) {
    this.log = options.log;
    this.ringSize = options.ringSize ?? 1024;
    this.ringMaxAgeMs = options.ringMaxAgeMs ?? 600_000;
    this.maxQueue = options.maxQueue ?? 5_000;
    this.maxRestarts = options.maxRestarts ?? 3;
    this.restartDelayMs = options.restartDelayMs ?? 250;
  }

  stats(): SharedSubscriptionStats {
    let subscribers = this.catchingUp.size;
    for (const group of this.groups.values()) subscribers += group.subscribers.size;
    return {
      groups: this.groups.size,
      subscribers,
      upstreamsStarted: this.upstreamsStarted,
      catchUpsStarted: this.catchUpsStarted,
      catchingUp: this.catchingUp.size,
    };
  }

  /** The gateway's graphql-ws `subscribe`: a feed is served from a group, anything else as before. */
  async subscribe(args: SubscribeArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
    const viewer = (args.contextValue as { viewer?: Viewer } | undefined)?.viewer;
    const plan = viewer ? planShare(args.schema, args.document, args.operationName, args.variableValues) : null;
    if (!viewer || !plan) return args.rootValue.subscribe(args) as Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;

    let start: number;
    try {
      if (plan.cursor === null) {
        // Live from now: the log's current cursor, read with this subscriber's own token.
        const answer = (await args.rootValue.execute({ schema: args.schema, document: EVENT_LOG_CURSOR, contextValue: args.contextValue })) as ExecutionResult<{
          eventLogCursor?: string;
        }>;
        const cursor = answer.data?.eventLogCursor;
        if (typeof cursor !== "string") return { errors: answer.errors?.length ? answer.errors : [this.mask(new Error("eventLogCursor answered nothing"))] };
        start = decodeCursor(cursor);
      } else {
        start = decodeCursor(plan.cursor as string);
      }
    } catch (err) {
      return { errors: [this.mask(err)] };
    }

    const key = createHash("sha256")
      .update(print(plan.document))
      .update("\0")
      .update(plan.operationName ?? "")
      .update("\0")
      .update(stableJson(plan.variables))
      .update("\0")
      .update(`${viewer.org}\0${viewer.orgKind}\0${[...viewer.scopes].sort().join(" ")}`)
      .digest("hex");
    const own: Envelope = { execute: args.rootValue.execute, subscribe: args.rootValue.subscribe, contextValue: args.contextValue };
    const fresh = args.rootValue.envelope ?? (async () => own);
    const subscriber = new Subscriber(key, plan, args.schema, viewer, own, fresh, this.maxQueue, (s) => this.leave(s));
    subscriber.lastSeq = start;
    this.join(subscriber, start);
    return subscriber;
  }

  /** Ends every group (the gateway is closing). */
  close(): void {
    for (const group of [...this.groups.values()]) this.stop(group, "gateway closing");
    for (const subscriber of [...this.catchingUp]) void subscriber.return();
  }

  /**
   * A result in the group's ring was executed when the group received it: what the viewer might see
   * then, which the subgraph decided as of the event and of that moment. A subscriber that comes later
   * may see less by now (an incident withdrawn from its org since), so nothing executed before it came
   * is served to it from memory: behind the group's position, it catches up on its own upstream (the
   * subgraph decides afresh) until it reaches the position the group had when it came.
   */
  private join(subscriber: Subscriber, from: number): void {
    const group = this.groups.get(subscriber.key);
    if (!group) this.startGroup(subscriber, from);
    else if (from >= group.position) this.attach(group, subscriber);
    else void this.catchUp(subscriber, from, group.position);
  }

  /** Ring events after the subscriber's position (executed since it came), then live ones. */
  private attach(group: Group, subscriber: Subscriber): void {
    for (const entry of group.ring) if (entry.seq > subscriber.lastSeq) subscriber.deliver(entry.seq, entry.result);
    if (subscriber.ended) return;
    group.subscribers.add(subscriber);
    subscriber.group = group;
  }

  private startGroup(subscriber: Subscriber, from: number): void {
    const group: Group = {
      key: subscriber.key,
      org: subscriber.viewer.org,
      plan: subscriber.plan,
      schema: subscriber.schema,
      subscribers: new Set(),
      ring: [],
      ringFloor: from,
      position: from,
      refused: new WeakSet(),
      failures: 0,
      closed: false,
    };
    this.groups.set(group.key, group);
    this.attach(group, subscriber);
    void this.run(group);
  }

  private leave(subscriber: Subscriber): void {
    this.catchingUp.delete(subscriber);
    const catchUp = subscriber.catchUp;
    subscriber.catchUp = undefined;
    void catchUp?.return?.();
    const group = subscriber.group;
    subscriber.group = undefined;
    if (!group) return;
    group.subscribers.delete(subscriber);
    if (!group.subscribers.size) this.stop(group, "last subscriber left");
  }

  private stop(group: Group, reason: string): void {
    if (group.closed) return;
    group.closed = true;
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
    const upstream = group.upstream;
    group.upstream = undefined;
    group.interrupt?.();
    void upstream?.return?.();
    this.logGroup(group, "shared subscription ended", reason);
  }

  /** Forwards an upstream's errors to every subscriber of the group and ends it. */
  private failGroup(group: Group, errors: readonly GraphQLError[], reason: string): void {
    const subscribers = [...group.subscribers];
    this.stop(group, reason);
    for (const subscriber of subscribers) {
      subscriber.group = undefined;
      subscriber.fail(errors);
    }
  }

  /** The attached subscriber whose token stays valid longest, and that the upstream has not refused. */
  private host(group: Group, except?: Subscriber): Subscriber | undefined {
    let best: Subscriber | undefined;
    for (const s of group.subscribers) {
      if (s === except || group.refused.has(s) || s.viewer.validUntilMs <= Date.now()) continue;
      if (!best || s.viewer.validUntilMs > best.viewer.validUntilMs) best = s;
    }
    return best;
  }

  /** The group's upstream, from its position, restarted as long as that loses nothing and makes sense. */
  private async run(group: Group): Promise<void> {
    let reason = "started";
    for (;;) {
      if (group.closed) return;
      const host = this.host(group);
      if (!host) {
        this.failGroup(group, [unauthenticated("token expired: subscribe again with a new token and your last cursor")], "no subscriber with a valid token");
        return;
      }
      let errors: readonly GraphQLError[] | undefined;
      try {
        const envelope = await host.fresh();
        if (group.closed) return;
        this.upstreamsStarted++;
        this.logGroup(group, reason === "started" ? "shared subscription started" : "shared subscription restarted", reason);
        const started = await envelope.subscribe({
          schema: group.schema,
          document: group.plan.document,
          operationName: group.plan.operationName,
          variableValues: { ...group.plan.variables, [AFTER_VARIABLE]: encodeCursor(group.position) },
          contextValue: envelope.contextValue,
        });
        if (isAsyncIterable(started)) {
          const upstream = started[Symbol.asyncIterator]();
          if (group.closed) {
            void upstream.return?.();
            return;
          }
          group.upstream = upstream;
          const unwatch = this.watchExpiry(group, host);
          try {
            errors = await this.pump(group, upstream);
          } finally {
            unwatch();
          }
        } else {
          errors = (started as ExecutionResult).errors ?? [];
        }
      } catch (err) {
        errors = [this.mask(err)];
      }
      group.upstream = undefined;
      group.interrupt = undefined;
      if (group.closed) return;
      if (group.handover) {
        reason = group.handover;
        group.handover = undefined;
        continue;
      }

      const code = errorCodeOf(errors);
      if (code === ErrorCode.UNAUTHENTICATED || host.viewer.validUntilMs <= Date.now()) {
        // The upstream's token expired (or was refused): another subscriber's token takes over.
        group.refused.add(host);
        reason = "upstream token expired";
        continue;
      }
      if (code === ErrorCode.CURSOR_EXPIRED) {
        // The group's position is older than the log keeps. Subscribers that joined with a newer cursor
        // have lost nothing: they start again from their own positions; the rest get the error.
        const newer = [...group.subscribers].filter((s) => s.lastSeq > group.position);
        for (const s of newer) {
          group.subscribers.delete(s);
          s.group = undefined;
        }
        this.failGroup(group, errors!, `upstream failed: ${code}`);
        for (const s of newer) this.join(s, s.lastSeq);
        return;
      }
      if (code && !RESTARTABLE.has(code)) {
        // FORBIDDEN, BAD_USER_INPUT, …: restarting would only fail again.
        this.failGroup(group, errors!, `upstream failed: ${code}`);
        return;
      }
      // A closed socket, a subgraph that went away, an end without a word: restart from the position.
      if (++group.failures > this.maxRestarts) {
        this.failGroup(group, [feedUnavailable()], `upstream failed ${group.failures} times`);
        return;
      }
      reason = errors?.length ? `upstream failed (${code ?? "no code"})` : "upstream ended";
      await sleep(this.restartDelayMs * 2 ** (group.failures - 1));
    }
  }

  /**
   * The upstream runs on its host's token, which expires. Shortly before, it moves to a subscriber
   * whose token lasts longer (restarting from the position loses nothing); at expiry it restarts
   * anyway. Waiting for the subgraph to end it is not enough: the upstream graphql-ws client retries a
   * socket closed with 4403 with the same token for a long while, and the feed would stall meanwhile.
   */
  private watchExpiry(group: Group, host: Subscriber): () => void {
    let timer: NodeJS.Timeout | undefined;
    const arm = (at: number, then: () => void) => {
      timer = setTimeout(then, Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)));
      timer.unref();
    };
    const interrupt = (why: string) => {
      group.handover = why;
      group.interrupt?.();
    };
    arm(host.viewer.validUntilMs - HANDOVER_MS, () => {
      const next = this.host(group, host);
      if (next && next.viewer.validUntilMs > host.viewer.validUntilMs) interrupt("upstream token expiring");
      else arm(host.viewer.validUntilMs, () => interrupt("upstream token expired"));
    });
    return () => clearTimeout(timer);
  }

  /** Events into the ring and out to every subscriber; returns the errors (if any) that ended the upstream. */
  private async pump(group: Group, upstream: AsyncIterator<ExecutionResult>): Promise<readonly GraphQLError[] | undefined> {
    const { rootKey } = group.plan;
    const interrupted = new Promise<"interrupted">((resolve) => {
      group.interrupt = () => resolve("interrupted");
    });
    for (;;) {
      const step = await Promise.race([upstream.next(), interrupted]);
      if (group.closed) return undefined;
      if (step === "interrupted") {
        void upstream.return?.();
        return undefined;
      }
      if (step.done) return undefined;
      const result = step.value;
      const seq = eventSeq(result, rootKey);
      if (seq === undefined) {
        void upstream.return?.();
        return result.errors?.length ? result.errors : undefined;
      }
      group.failures = 0;
      if (seq <= group.position) continue;
      group.position = seq;
      const event = stripped(result, rootKey);
      group.ring.push({ seq, result: event, at: Date.now() });
      trimRing(group, this.ringSize, this.ringMaxAgeMs);
      for (const subscriber of group.subscribers) subscriber.deliver(seq, event);
    }
  }

  /**
   * A subscriber whose cursor is behind the group's position reads on its own upstream until it has
   * passed `through` (the group's position when it came) and the group's ring covers where it has got
   * to, then switches to the group without a gap.
   */
  private async catchUp(subscriber: Subscriber, from: number, through: number): Promise<void> {
    this.catchingUp.add(subscriber);
    this.catchUpsStarted++;
    const { plan } = subscriber;
    try {
      const started = await subscriber.own.subscribe({
        schema: subscriber.schema,
        document: plan.document,
        operationName: plan.operationName,
        variableValues: { ...plan.variables, [AFTER_VARIABLE]: encodeCursor(from) },
        contextValue: subscriber.own.contextValue,
      });
      if (!isAsyncIterable(started)) {
        subscriber.fail(forSubscriber((started as ExecutionResult).errors));
        return;
      }
      const upstream = started[Symbol.asyncIterator]();
      if (!this.catchingUp.has(subscriber)) {
        void upstream.return?.();
        return;
      }
      subscriber.catchUp = upstream;
      for (;;) {
        const step = await upstream.next();
        if (!this.catchingUp.has(subscriber)) return;
        if (step.done) {
          subscriber.fail([expectedError(ErrorCode.FEED_UNAVAILABLE, "the feed ended: subscribe again with the cursor of the last event you received")]);
          return;
        }
        const seq = eventSeq(step.value, plan.rootKey);
        if (seq === undefined) {
          subscriber.fail(forSubscriber(step.value.errors));
          return;
        }
        subscriber.deliver(seq, stripped(step.value, plan.rootKey));
        if (!this.catchingUp.has(subscriber)) return;
        const group = this.groups.get(subscriber.key);
        if (group) trimRing(group, this.ringSize, this.ringMaxAgeMs);
        if (!group || subscriber.lastSeq >= Math.max(through, group.ringFloor)) {
          this.catchingUp.delete(subscriber);
          subscriber.catchUp = undefined;
          void upstream.return?.();
          if (group) this.attach(group, subscriber);
          else this.startGroup(subscriber, subscriber.lastSeq);
          return;
        }
      }
    } catch (err) {
      if (this.catchingUp.has(subscriber)) subscriber.fail([this.mask(err)]);
    }
  }

  private mask(err: unknown): GraphQLError {
    return this.options.maskError(err) as GraphQLError;
  }

  private logGroup(group: Group, message: string, reason: string): void {
    this.log.info({ org: group.org, group: group.key.slice(0, 12), subscribers: group.subscribers.size, position: group.position, reason }, message);
  }
}
