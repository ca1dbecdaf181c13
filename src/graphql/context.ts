import type { EntityManager } from "@mikro-orm/postgresql";
import type { Viewer } from "../auth/viewer.js";
import type { Config } from "../config.js";
import type { KeyRing } from "../crypto/keyed-hash.js";
import type { RecordKeys } from "../crypto/record-keys.js";
import type { EventStream } from "../events/event-stream.js";
import type { ProjectionRunner } from "../events/projection.js";
import type { Logger } from "../logger.js";
import type { OrgDirectory } from "../orgs/org-directory.js";

/** What a subgraph's services get from the kernel, once per process. */
export interface HubServices {
  config: Config;
  log: Logger;
  orgs: OrgDirectory;
  events: EventStream;
  /** Keys of the keyed hashes of identifiers (accounts). */
  identifierKeys: KeyRing;
  /** Keys of the personal records (verification): master keys of their data keys, blind-index keys. */
  recordKeys: RecordKeys;
  /**
   * The time rules about periods read (retention, grants, expiry): the wall clock, or the test's own,
   * so that two years can pass in a test.
   */
  clock: () => Date;
}

/** Per request (or per subscription): the verified viewer and a fresh unit of work. */
export interface Context {
  viewer: Viewer;
  em: EntityManager;
  hub: HubServices;
  requestId: string;
  /** Per-request batch loaders, keyed by name, so that `_entities` fetches many keys in one query. */
  loaders: Map<string, unknown>;
  /** The subgraph's projections of other subgraphs' events, by name. */
  projections: ReadonlyMap<string, ProjectionRunner>;
}
