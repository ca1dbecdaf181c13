/** Turns a `?`-placeholder fragment (knex style) into node-postgres `$n` placeholders from `offset + 1`. */
export function toPgPlaceholders(sql: string, offset: number): string {
  let n = offset;
  return sql.replace(/\?/g, () => `$${++n}`);
}
