import { openText, sealText } from "../../src/crypto/envelope.js";
import type { RecordKeys } from "../../src/crypto/record-keys.js";

/** The associated data that binds a record's wrapped data key to that record. */
const dataKeyAad = (recordId: string) => `verification.customer_record.data_key:${recordId}`;
/** The associated data that binds a sealed value to its table, column and row. */
const valueAad = (table: string, column: string, rowId: string) => `verification.${table}.${column}:${rowId}`;

/**
 * Seals and opens the personal values of one record (its own columns, and its checks' and status
 * changes' sealed columns) under the record's data key. The data key is unwrapped once per record
 * and lives only in memory; what reaches PostgreSQL is ciphertext bound to its table, column and row.
 */
export class RecordSealer {
  private constructor(
    private readonly dataKey: Buffer,
    readonly keyId: string,
    readonly wrapped: Buffer,
  ) {}

  /** A new record's sealer, with a fresh data key wrapped by the current master key. */
  static create(keys: RecordKeys, recordId: string): RecordSealer {
    const { plain, keyId, wrapped } = keys.master.newDataKey(dataKeyAad(recordId));
    return new RecordSealer(plain, keyId, wrapped);
  }

  /** A stored record's sealer; throws SealBroken if the wrapped key is not this record's. */
  static of(keys: RecordKeys, row: { id: string; master_key_id: string; data_key: Buffer }): RecordSealer {
    return new RecordSealer(keys.master.unwrap(row.master_key_id, row.data_key, dataKeyAad(row.id)), row.master_key_id, row.data_key);
  }

  /** The record's data key wrapped by the current master key (master-key rotation; the data stay as they are). */
  static rewrap(keys: RecordKeys, row: { id: string; master_key_id: string; data_key: Buffer }): { keyId: string; wrapped: Buffer } {
    return keys.master.rewrap(row.master_key_id, row.data_key, dataKeyAad(row.id));
  }

  seal(table: string, column: string, rowId: string, value: unknown): Buffer {
    return sealText(this.dataKey, JSON.stringify(value ?? null), valueAad(table, column, rowId));
  }

  open<T>(table: string, column: string, rowId: string, sealed: Buffer): T {
    return JSON.parse(openText(this.dataKey, sealed, valueAad(table, column, rowId))) as T;
  }
}
