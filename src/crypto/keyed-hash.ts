import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import type { Config } from "../config.js";
import { keySpecFrom, parseKeySpec } from "./key-spec.js";

/**
 * Keyed hashes (HMAC-SHA-256) of values the hub must be able to match but never hold, such as an
 * account's e-mail or card number. The first key of the ring hashes what is stored from now on;
 * every key is tried when matching, and each stored hash names its key, so a key can be rotated
 * (a new key put first, the old one kept until everything was hashed again) without losing matches.
 */
export interface HashKey {
  id: string;
  key: Buffer;
}

/** A key as HMAC uses it: made into a KeyObject once, which spares each hash the key's set-up. */
interface RingKey {
  id: string;
  key: KeyObject;
}

export interface KeyedHash {
  keyId: string;
  digest: Buffer;
}

export class KeyRing {
  private readonly keys: readonly RingKey[];

  constructor(keys: readonly HashKey[]) {
    if (!keys.length) throw new Error("a key ring needs at least one key");
    this.keys = keys.map(({ id, key }) => ({ id, key: createSecretKey(key) }));
  }

  /** The id of the key new hashes are made with. */
  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  /** The hash to store, with the current key. */
  hash(text: string): KeyedHash {
    return this.digestWith(this.keys[0]!, text);
  }

  /** One hash per key of the ring: what a stored hash of the same text may be. */
  hashesForMatching(text: string): KeyedHash[] {
    return this.keys.map((k) => this.digestWith(k, text));
  }

  private digestWith({ id, key }: RingKey, text: string): KeyedHash {
    return { keyId: id, digest: createHmac("sha256", key).update(text, "utf8").digest() };
  }
}

/** `id:base64key,id:base64key` as IDENTIFIER_HASH_KEYS holds it (validated by the configuration). */
export const parseKeyRing = (spec: string): KeyRing => new KeyRing(parseKeySpec(spec));

/**
 * The ring from IDENTIFIER_HASH_KEYS, or in development from DATA_DIR/keys (made on first start,
 * mode 0600, never logged). Production requires the setting (see src/config.ts).
 */
export async function loadKeyRing(config: Config): Promise<KeyRing> {
  return parseKeyRing(await keySpecFrom(config.identifiers.IDENTIFIER_HASH_KEYS, config.database.DATA_DIR, "identifier-hash-keys"));
}
