import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

/**
 * CPU time of the processes of the bench (Linux /proc), so that each figure comes with where the
 * machine's CPU went: milliseconds of CPU per request (or per 1,000 rows) in each process.
 */
const TICK = 100; // USER_HZ on Linux

function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return NaN; // gone
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

/** The postmaster of a cluster and its backends (new backends appear as connections are made). */
export function postgresPids(pgDataDir: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(pgDataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return [];
  }
  const pids = [postmaster];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && parentOf(pid) === postmaster) pids.push(pid);
  }
  return pids;
}

export type CpuGroups = Record<string, () => number[]>;

/** CPU seconds used by each group of processes between `start` and `stop` (exited backends not counted). */
export function cpuMeter(groups: CpuGroups) {
  const snapshot = () => {
    const out: Record<string, Map<number, number>> = {};
    for (const [name, pids] of Object.entries(groups)) out[name] = new Map(pids().map((p) => [p, p === process.pid ? -1 : ticks(p)]));
    return out;
  };
  return {
    start() {
      const before = snapshot();
      const self = process.cpuUsage();
      return () => {
        const after = snapshot();
        const selfUsed = process.cpuUsage(self);
        const used: Record<string, number> = {};
        for (const [name, pids] of Object.entries(after)) {
          let sum = 0;
          for (const [pid, t] of pids) {
            if (t === -1) sum += (selfUsed.user + selfUsed.system) / 1e6;
            // A process gone by now is not counted (its last ticks are unknown); one new since the
            // start counts from its birth.
            else if (!Number.isNaN(t)) sum += (t - (before[name]!.get(pid) || 0)) / TICK;
          }
          used[name] = sum;
        }
        return used;
      };
    },
  };
}

/**
 * With DATABASE_URL (a server the bench did not start, on this machine): the backends serving the
 * bench's database, from pg_stat_activity, refreshed every second. Backends that come and go between
 * refreshes are missed, and the server's own processes (WAL writer, checkpointer) are not counted.
 */
export function databaseBackends(url: string): { pids(): number[]; refresh(): Promise<void>; stop(): Promise<void> } {
  let pids: number[] = [];
  const client = new pg.Client({ connectionString: url });
  const connected = client.connect();
  const refresh = async () => {
    await connected;
    const { rows } = await client.query<{ pid: number }>("select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()");
    pids = rows.map((r) => r.pid);
  };
  const timer = setInterval(() => void refresh().catch(() => undefined), 1000);
  timer.unref();
  return {
    pids: () => pids,
    refresh,
    async stop() {
      clearInterval(timer);
      await client.end().catch(() => undefined);
    },
  };
}

/** The whole machine's busy time (every process, this bench's or not) from /proc/stat, in % of one core. */
export function machineBusy(): () => number {
  const read = () => {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3]! + (fields[4] ?? 0); // idle + iowait
    return { busy: fields.slice(0, 8).reduce((a, b) => a + b, 0) - idle, at: performance.now() };
  };
  const before = read();
  return () => {
    const after = read();
    return (100 * (after.busy - before.busy)) / TICK / ((after.at - before.at) / 1000);
  };
}
