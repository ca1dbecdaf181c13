import { TLP_LEVELS, type Tlp } from "../../../src/auth/tlp.js";
import { hasScope, type Viewer } from "../../../src/auth/viewer.js";
import { uuidV5 } from "../indicator.stix.js";
import { STIX_MEDIA_TYPE } from "./content.js";

/**
 * The collections a caller sees: one read-only collection per TLP level holding every object of that
 * level the caller may see, whoever owns it, and the caller's own collections, one per level, which
 * hold its own objects of that level and take its posts. Ids are name-based (UUID v5), so they are
 * the same on every replica and after every restart; another org's collection does not exist for you.
 */
export interface Collection {
  id: string;
  title: string;
  description: string;
  canRead: boolean;
  canWrite: boolean;
  tlp: Tlp;
  /** The org whose own objects this is, for a writable collection. */
  owner: string | null;
}

const COLLECTION_NAMESPACE = "5b0f7c1e-3d2a-4f6b-8c9e-2a7d4e1b6f30";
const LABEL: Record<Tlp, string> = { CLEAR: "TLP:CLEAR", GREEN: "TLP:GREEN", AMBER: "TLP:AMBER", AMBER_STRICT: "TLP:AMBER+STRICT", RED: "TLP:RED" };

export const sharedCollectionId = (tlp: Tlp) => uuidV5(`tlp:${tlp}`, COLLECTION_NAMESPACE);
export const ownCollectionId = (org: string, tlp: Tlp) => uuidV5(`org:${org}:tlp:${tlp}`, COLLECTION_NAMESPACE);

/** Every collection the viewer may use, shared ones first. */
export function collectionsOf(viewer: Viewer): Collection[] {
  const read = hasScope(viewer, "indicators:read");
  const write = hasScope(viewer, "indicators:write");
  const shared = TLP_LEVELS.map((tlp) => ({
    id: sharedCollectionId(tlp),
    title: LABEL[tlp],
    description: `Every object held at ${LABEL[tlp]} that you may see, from any member org`,
    canRead: true,
    canWrite: false,
    tlp,
    owner: null,
  }));
  const own = TLP_LEVELS.map((tlp) => ({
    id: ownCollectionId(viewer.org, tlp),
    title: `${viewer.org} at ${LABEL[tlp]}`,
    description: `Your own objects at ${LABEL[tlp]}; objects posted here without a TLP marking are held at ${LABEL[tlp]}`,
    canRead: read,
    canWrite: write,
    tlp,
    owner: viewer.org,
  }));
  return [...(read ? shared : []), ...(read || write ? own : [])];
}

export const collectionOf = (viewer: Viewer, id: string): Collection | undefined => collectionsOf(viewer).find((c) => c.id === id.toLowerCase());

/** As TAXII 2.1 (5.2) describes a collection. */
export function collectionResource(c: Collection): Record<string, unknown> {
  return { id: c.id, title: c.title, description: c.description, can_read: c.canRead, can_write: c.canWrite, media_types: [STIX_MEDIA_TYPE] };
}
