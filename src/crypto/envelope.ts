import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { HashKey } from "./keyed-hash.js";

/**
 * Envelope encryption of personal fields, done in the application before anything reaches PostgreSQL.
 * Each record has a data key of its own (AES-256-GCM); the data key is stored wrapped by a master key
 * from configuration. Rotating the master key rewraps the data keys and leaves the data as it is.
 *
 * Every ciphertext carries associated data naming its table, column and row: a ciphertext copied to
 * another row or column fails authentication instead of reading as that row's value. A wrapped data
 * key is bound the same way to the record it belongs to.
 *
 * Layout of a sealed value: version byte (1), 12-byte IV, 16-byte tag, ciphertext.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** A ciphertext that fails authentication: moved, altered, or sealed under another key. */
export class SealBroken extends Error {
  constructor(readonly aad: string) {
    super(`a sealed value failed authentication (${aad})`);
    this.name = "SealBroken";
  }
}

function seal(key: Buffer, plain: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new SealBroken(aad);
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealBroken(aad);
  }
}

/** Text sealed under a data key, bound to `aad` (table, column and row). */
export const sealText = (dataKey: Buffer, text: string, aad: string): Buffer => seal(dataKey, Buffer.from(text, "utf8"), aad);

/** The text `sealText` sealed; throws SealBroken if the ciphertext or its binding does not hold. */
export const openText = (dataKey: Buffer, sealed: Buffer, aad: string): string => open(dataKey, sealed, aad).toString("utf8");

export interface WrappedKey {
  /** Which master key wrapped it. */
  keyId: string;
  wrapped: Buffer;
}

/**
 * The master keys: the first wraps every new data key; every key unwraps what it wrapped, so that a
 * new key can be put first and the old ones kept until `rewrap` has moved every data key over.
 */
export class MasterKeyRing {
  private readonly keys: ReadonlyMap<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: readonly HashKey[]) {
    if (!keys.length) throw new Error("a master key ring needs at least one key");
    for (const k of keys) if (k.key.length !== KEY_BYTES) throw new Error(`master key ${k.id} is not ${KEY_BYTES} bytes`);
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    this.currentKeyId = keys[0]!.id;
  }

  /** A fresh data key for one record, and its wrapped form to store, bound to `aad` (the record). */
  newDataKey(aad: string): WrappedKey & { plain: Buffer } {
    const plain = randomBytes(KEY_BYTES);
    return { plain, keyId: this.currentKeyId, wrapped: seal(this.keys.get(this.currentKeyId)!, plain, aad) };
  }

  unwrap(keyId: string, wrapped: Buffer, aad: string): Buffer {
    const master = this.keys.get(keyId);
    if (!master) throw new Error(`master key ${keyId} is not configured (RECORD_MASTER_KEYS)`);
    return open(master, wrapped, aad);
  }

  /** The same data key wrapped by the current master key (unchanged if it already is). */
  rewrap(keyId: string, wrapped: Buffer, aad: string): WrappedKey {
    if (keyId === this.currentKeyId) return { keyId, wrapped };
    return { keyId: this.currentKeyId, wrapped: seal(this.keys.get(this.currentKeyId)!, this.unwrap(keyId, wrapped, aad), aad) };
  }
}
