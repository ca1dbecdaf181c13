import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import { query } from "../db/sql.js";
import type { Logger } from "../logger.js";
import type { EventStream } from "./event-stream.js";
import { fromRow, type EventRow, type HubEvent } from "./event.js";

/**
 * A subgraph's internal view of other subgraphs' data, built from the event log: the only way data
 * crosses subgraph borders besides entity references. Its cursor lives in the subgraph's own schema
 * and moves in the same transaction as the rows it projects, so a crash replays nothing twice and
 * skips nothing.
 */
export interface ProjectionDefinition {
  /** Unique within the subgraph's schema. */
  name: string;
  /** The subgraph's Postgres schema, which holds `projection_cursor`. */
  schema: string;
  topics: readonly string[];
  /** Applies events in log order, in the transaction that then stores the cursor. */
  apply(em: EntityManager, events: readonly HubEvent[]): Promise<void>;
}

const PAGE = 500;

export class ProjectionRunner {
  private running?: Promise<void>;
  private again = false;
  private stopWatching?: () => void;
  private closed = false;
  private checkedRetention = false;

  constructor(
    readonly definition: ProjectionDefinition,
    private readonly orm: MikroORM,
    private readonly events: EventStream,
    private readonly log: Logger,
  ) {}

  /** Catches up with the log, then follows it as the process's event stream is woken. */
  async start(): Promise<void> {
    this.stopWatching = this.events.watch(this.definition.topics, () => this.wake());
    await this.sync();
  }

  private wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.catchUp()
      .catch((err) => this.log.warn({ err, projection: this.definition.name }, "projection could not apply events; will retry on the next event"))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /**
   * Resolves once every event committed before the call is applied: a writer that validates against
   * the projection calls this before refusing a reference it does not (yet) know.
   */
  async sync(): Promise<void> {
    await this.running;
    await this.catchUp();
  }

  private async catchUp(): Promise<void> {
    const { name, schema, topics } = this.definition;
    for (;;) {
      const applied = await this.orm.em.fork().transactional(async (em) => {
        // The row lock makes replicas of the subgraph take turns instead of applying a page twice.
        const [cursor] = await query<{ seq: number }>(
          em,
          `select seq from ${schema}.projection_cursor where name = $1 for update`,
          [name],
          "projection_cursor_lock",
        );
        const position = Number(cursor?.seq ?? 0);
        if (!this.checkedRetention) {
          this.checkedRetention = true;
          const [mark] = await query<{ pruned_through: number }>(em, "select pruned_through from hub.event_retention", [], "projection_retention");
          if (position < Number(mark?.pruned_through ?? 0)) {
            // Pruned events are gone for this projection too: what they carried is missing from it
            // until the records are written again. Operators should know.
            this.log.warn({ projection: name, position, prunedThrough: Number(mark!.pruned_through) }, "projection starts behind the log's retention: events it never read were pruned");
          }
        }
        const rows = await query<EventRow>(
          em,
          "select * from hub.event where seq > $1 and topic = any($2::text[]) order by seq limit $3::int",
          [position, topics, PAGE],
          "projection_read",
        );
        if (!rows.length) return 0;
        const events = rows.map(fromRow);
        await this.definition.apply(em, events);
        await query(
          em,
          `insert into ${schema}.projection_cursor (name, seq) values ($1, $2)
             on conflict (name) do update set seq = excluded.seq`,
          [name, events[events.length - 1]!.seq],
          "projection_cursor_store",
        );
        return rows.length;
      });
      if (applied < PAGE) return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching?.();
    await this.running;
  }
}
