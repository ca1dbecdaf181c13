import DataLoader from "dataloader";
import type { Context } from "./context.js";

/**
 * A per-request batch loader: the gateway's `_entities` call asks for many keys at once, and every
 * `__resolveReference` of that call lands in one query. `batch` must return one value per key, in order.
 */
export function loaderFor<K, V>(ctx: Context, name: string, batch: (keys: readonly K[]) => Promise<(V | null)[]>): DataLoader<K, V | null> {
  let loader = ctx.loaders.get(name) as DataLoader<K, V | null> | undefined;
  if (!loader) {
    loader = new DataLoader<K, V | null>(batch, { maxBatchSize: 1000 });
    ctx.loaders.set(name, loader);
  }
  return loader;
}
