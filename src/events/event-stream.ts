import pg from "pg";
import { canSee, visibleToSql } from "../auth/tlp.js";
import type { Viewer } from "../auth/viewer.js";
import { Params } from "../db/sql.js";
import { expectedError, ErrorCode, unauthenticated } from "../errors.js";
import type { Logger } from "../logger.js";
import { decodeCursor } from "./cursor.js";
import { fromRow, type EventRow, type HubEvent } from "./event.js";
import { EVENT_CHANNEL } from "./outbox.js";

export interface SubscribeOptions {
  topics: readonly string[];
  viewer: Viewer;
  /** Replay what the viewer may see after this cursor, then go live. Without it: live from now. */
  after?: string | null;
  /** A further server-side filter (severity, type, ...), applied after the TLP rule. */
  matches?: (event: HubEvent) => boolean;
  /**
   * The viewer's access now, for events that pass the rule as of themselves: of these, in order, the
   * ones it may still see. A record withdrawn from the viewer since its event is then neither
   * replayed nor delivered late. Called once per page replayed and per batch of live events taken
   * from the queue, just before they are delivered.
   */
  stillVisible?: (events: readonly HubEvent[]) => Promise<readonly HubEvent[]>;
}

/**
 * A `stillVisible` check for feeds whose payloads name their record by `id`: `visibleIds` answers which
 * of those ids the viewer may see now (one query per replayed page or live batch).
 */
export function stillVisibleBy(visibleIds: (ids: string[]) => Promise<Iterable<string>>): (events: readonly HubEvent[]) => Promise<HubEvent[]> {
  return async (events) => {
    const idOf = (e: HubEvent) => (e.payload as { id: string }).id;
    const visible = new Set(await visibleIds([...new Set(events.map(idOf))]));
    return events.filter((e) => visible.has(idOf(e)));
  };
}

const PAGE = 500;
/** A subscriber that falls this far behind is switched back to reading the log, losing nothing. */
const MAX_QUEUE = 5_000;
/** A safety net for a lost notification: the log is read at least this often. */
const POLL_MS = 5_000;

type Listener = (event: HubEvent) => void;

/**
 * The process's one reader of the event log. It LISTENs once, reads new events in sequence order when
 * woken (or every few seconds, should a notification be lost), and fans them out in memory to every
 * subscription of this process. A subscription replays from its cursor out of the log itself and then
 * takes live events, so a reader that reconnects with its last cursor receives exactly what it missed.
 */
export class EventStream {
  private readonly pool: pg.Pool;
  private listenClient?: pg.Client;
  private readonly listeners = new Set<Listener>();
  private lastSeq = 0;
  private reading?: Promise<void>;
  private again = false;
  private pollTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    this.pool.on("error", (err) => this.log.warn({ err }, "event log pool connection error"));
  }

  async start(): Promise<void> {
    const { rows } = await this.pool.query<{ seq: number }>("select coalesce(max(seq), 0)::bigint as seq from hub.event");
    this.lastSeq = Number(rows[0]!.seq);
    await this.listen();
    this.pollTimer = setInterval(() => this.wake(), POLL_MS);
    this.pollTimer.unref();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", () => this.wake());
    client.on("error", (err) => {
      this.log.warn({ err }, "event log listener lost its connection; reconnecting");
      this.scheduleReconnect();
    });
    client.on("end", () => this.scheduleReconnect());
    await client.connect();
    await client.query(`listen ${EVENT_CHANNEL}`);
    this.listenClient = client;
    this.wake(); // catch up with anything committed while not listening
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.listenClient = undefined;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen().catch((err) => {
        this.log.warn({ err }, "event log listener could not reconnect; retrying");
        this.scheduleReconnect();
      });
    }, 1_000);
  }

  /**
   * Calls `onEvent` for every event of these topics this process fans out, for internal readers
   * (projections) that read the log themselves and only need waking. Returns the way to stop.
   */
  watch(topics: readonly string[], onEvent: () => void): () => void {
    const wanted = new Set(topics);
    const listener: Listener = (event) => {
      if (wanted.has(event.topic)) onEvent();
    };
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The highest sequence this process has fanned out. */
  get position(): number {
    return this.lastSeq;
  }

  private wake(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readNew()
      .catch((err) => this.log.warn({ err }, "reading the event log failed; will retry"))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async readNew(): Promise<void> {
    for (;;) {
      const { rows } = await this.pool.query<EventRow>(
        "select * from hub.event where seq > $1 order by seq limit $2::int",
        [this.lastSeq, PAGE],
      );
      for (const row of rows) {
        const event = fromRow(row);
        this.lastSeq = event.seq;
        for (const listener of this.listeners) listener(event);
      }
      if (rows.length < PAGE) return;
    }
  }

  /** Reads a page of the log after `after` that the viewer may see, on the given topics. */
  async readVisible(viewer: Viewer, topics: readonly string[], after: number, limit = PAGE): Promise<HubEvent[]> {
    const params = new Params();
    const text = `select * from hub.event
       where seq > ${params.add(after)} and topic = any(${params.add(topics)}::text[])
         and ${visibleToSql(viewer, params, { owner: "owner_org", tlp: "tlp", sharedWith: "shared_with" })}
       order by seq limit ${params.add(limit)}::int`;
    const { rows } = await this.pool.query<EventRow>(text, params.values);
    return rows.map(fromRow);
  }

  /** Rejects a cursor whose events have been pruned: replaying from it would silently skip some. */
  async assertRetained(after: number): Promise<void> {
    const { rows } = await this.pool.query<{ pruned_through: number }>("select pruned_through from hub.event_retention");
    const prunedThrough = Number(rows[0]?.pruned_through ?? 0);
    if (after < prunedThrough) {
      throw expectedError(
        ErrorCode.CURSOR_EXPIRED,
        "after: this cursor is older than the event log's retention window; start again without a cursor and re-read current state",
      );
    }
  }

  /** Removes events older than the retention window and records how far the log was pruned. */
  async prune(retentionDays: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `with gone as (delete from hub.event where created_at < now() - make_interval(days => $1) returning seq),
            mark as (update hub.event_retention set pruned_through = greatest(pruned_through, (select max(seq) from gone))
                      where exists (select 1 from gone) returning 1)
       select count(*)::int as n from gone, (select count(*) from mark) m`,
      [retentionDays],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Events for one subscription, in sequence order, replayed from its cursor and then live. Each
   * event passes the TLP rule for this viewer, and the subscription ends with UNAUTHENTICATED once the
   * viewer's token expires.
   */
  subscribe(options: SubscribeOptions): AsyncIterableIterator<HubEvent> {
    const { viewer, matches, stillVisible } = options;
    const topics = new Set(options.topics);
    const wanted = (e: HubEvent) => topics.has(e.topic) && canSee(viewer, e) && (!matches || matches(e));

    // Live events waiting for this subscriber; `head` is the next one to look at.
    let queue: HubEvent[] = [];
    let head = 0;
    let overflowed = false;
    let wakeUp: (() => void) | undefined;
    let done = false;
    const listener: Listener = (event) => {
      if (!wanted(event)) return;
      if (queue.length - head >= MAX_QUEUE) {
        overflowed = true;
        queue = [];
        head = 0;
      } else {
        queue.push(event);
      }
      wakeUp?.();
    };
    // Registered before replay starts: anything committed from here on reaches the queue, and the
    // replay covers everything before. Overlap is dropped by sequence.
    this.listeners.add(listener);

    const replaying = options.after != null;
    // The highest sequence this subscription has delivered or passed over.
    let position = replaying ? decodeCursor(options.after!) : this.lastSeq;
    let replay = replaying;
    let checkedRetention = !replaying;
    let buffer: readonly HubEvent[] = [];
    let next = 0; // the next of `buffer` to deliver
    const stream = this;

    const finish = () => {
      done = true;
      stream.listeners.delete(listener);
      queue = [];
      head = 0;
      buffer = [];
      wakeUp?.();
    };
    /** Events taken from the log or the queue, less those the viewer may no longer see, to deliver next. */
    const take = async (events: readonly HubEvent[]) => {
      next = 0;
      buffer = stillVisible && events.length ? await stillVisible(events) : events;
    };

    const step = async (): Promise<IteratorResult<HubEvent>> => {
      for (;;) {
        if (done) return { done: true, value: undefined };
        if (viewer.validUntilMs <= Date.now()) {
          finish();
          throw unauthenticated("token expired: subscribe again with a new token and your last cursor");
        }
        if (!checkedRetention) {
          await stream.assertRetained(position);
          checkedRetention = true;
        }
        if (next < buffer.length) return { done: false, value: buffer[next++]! };
        if (overflowed) {
          overflowed = false;
          replay = true;
        }
        if (replay) {
          const page = await stream.readVisible(viewer, options.topics, position);
          if (!page.length) {
            replay = false; // caught up: the queue takes over
            continue;
          }
          position = page[page.length - 1]!.seq;
          await take(matches ? page.filter(matches) : page);
          continue;
        }
        while (head < queue.length && queue[head]!.seq <= position) head++; // already replayed
        if (head === queue.length) {
          queue = [];
          head = 0;
          const expiresIn = viewer.validUntilMs - Date.now();
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, Math.min(expiresIn, 2 ** 31 - 1)));
            wakeUp = () => {
              clearTimeout(timer);
              wakeUp = undefined;
              resolve();
            };
          });
          continue;
        }
        // Everything queued, at once: one look at the viewer's access now for the whole batch.
        const batch = queue.slice(head);
        queue = [];
        head = 0;
        position = batch[batch.length - 1]!.seq;
        await take(batch);
      }
    };

    return {
      next: step,
      async return() {
        finish();
        return { done: true, value: undefined };
      },
      async throw(err?: unknown) {
        finish();
        throw err;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    this.listeners.clear();
    await this.reading;
    await this.listenClient?.end().catch(() => undefined);
    await this.pool.end();
  }
}
