import { describe, expect, it } from "vitest";
import { monthsOf, partitionFor } from "../subgraphs/verification/access.partitions.js";
import { checkAccessEvent, checkWindow, hostAddress, ipOrNetwork } from "../subgraphs/verification/access.validation.js";

/** The access log's checks that need no database: addresses, networks, times, and the month partitions. */

const NOW = new Date("2026-11-29T12:00:00Z");
const ACCOUNT = "account--6a6ede32-1ee4-4324-9438-208a6d55d921";
const good = { accountId: ACCOUNT, ip: "192.0.2.1", at: new Date("2026-11-29T11:00:00Z"), action: "ACCESS" };

describe("access log input", () => {
  it("takes host addresses of both families, storing an IPv4-mapped one as IPv4", () => {
    expect(hostAddress("192.0.2.1")).toEqual({ ip: "192.0.2.1", family: 4 });
    expect(hostAddress("2001:DB8::1")).toEqual({ ip: "2001:db8::1", family: 6 });
    expect(hostAddress("::ffff:192.0.2.1")).toEqual({ ip: "192.0.2.1", family: 4 });
    expect(hostAddress("::FFFF:203.0.113.9")).toEqual({ ip: "203.0.113.9", family: 4 });
    for (const bad of ["192.0.2.256", "192.0.2", "fe80::1%eth0", "2001:db8::/32", "192.0.2.1/32", "", " 192.0.2.1", "example.org", 42, null]) {
      expect(hostAddress(bad), String(bad)).toBeNull();
    }
  });

  it("reads networks in CIDR form, ignoring host bits, within the widest prefix allowed", () => {
    expect(ipOrNetwork("203.0.113.77/24")).toEqual({ network: "203.0.113.77/24", family: 4, prefix: 24 });
    expect(ipOrNetwork("203.0.113.77")).toEqual({ network: "203.0.113.77/32", family: 4, prefix: 32 });
    expect(ipOrNetwork("2001:db8:1::/48")).toEqual({ network: "2001:db8:1::/48", family: 6, prefix: 48 });
    expect(ipOrNetwork("::ffff:203.0.113.0/120")).toEqual({ network: "203.0.113.0/24", family: 4, prefix: 24 });
    expect(ipOrNetwork("10.0.0.0/8")).toMatchObject({ prefix: 8 });
    expect(ipOrNetwork("2001::/16")).toMatchObject({ prefix: 16 });
    const refused = (v: unknown) => (ipOrNetwork(v) as { error?: string }).error;
    expect(refused("10.0.0.0/7")).toMatch(/\/8 or narrower/);
    expect(refused("2001::/15")).toMatch(/\/16 or narrower/);
    expect(refused("203.0.113.0/33")).toMatch(/0-32/);
    expect(refused("::ffff:203.0.113.0/95")).toMatch(/96 or more/);
    for (const bad of ["203.0.113.0/", "203.0.113.0/a", "203.0.113.0/24/1", "203.0.113/24", "", "   ", null]) expect(refused(bad), String(bad)).toBeTruthy();
  });

  it("checks each event's account id, address, time and action, naming the field and never the value", () => {
    expect(checkAccessEvent(good, NOW)).toEqual({ ok: true, value: { accountUuid: ACCOUNT.slice(9), ip: "192.0.2.1", at: good.at, action: "ACCESS" } });
    const fault = (over: Record<string, unknown>) => {
      const r = checkAccessEvent({ ...good, ...over }, NOW);
      return r.ok ? null : r.fault;
    };
    expect(fault({ accountId: "acct-17" })).toMatchObject({ field: "accountId" });
    expect(fault({ accountId: "account--not-a-uuid" })).toMatchObject({ field: "accountId" });
    expect(fault({ ip: "10.0.0.300" })).toEqual({ field: "ip", message: "not an IPv4 or IPv6 address" });
    // Five minutes of skew are allowed, not more; ten years back, not more.
    expect(fault({ at: new Date(NOW.getTime() + 4 * 60_000) })).toBeNull();
    expect(fault({ at: new Date(NOW.getTime() + 6 * 60_000) })).toMatchObject({ field: "at", message: expect.stringMatching(/future/) });
    expect(fault({ at: new Date("2017-01-01T00:00:00Z") })).toBeNull();
    expect(fault({ at: new Date("2016-01-01T00:00:00Z") })).toMatchObject({ field: "at", message: expect.stringMatching(/days ago/) });
    expect(fault({ at: new Date(Number.NaN) })).toMatchObject({ field: "at" });
    expect(fault({ action: "LOGIN" })).toMatchObject({ field: "action" });
  });

  it("takes a window with open ends, not one that ends before it starts", () => {
    expect(checkWindow(null, undefined)).toEqual({ from: null, to: null });
    expect(checkWindow(new Date("2026-01-01"), new Date("2026-02-01"))).toMatchObject({ from: new Date("2026-01-01") });
    expect(checkWindow(new Date("2026-02-01"), new Date("2026-01-01"))).toEqual({ field: "to", message: "to: before from" });
  });

  it("names a month's partition and its bounds in UTC, December into January", () => {
    expect(partitionFor("2026-11")).toEqual({ name: "access_event_2026_11", from: "2026-11-01 00:00:00+00", to: "2026-12-01 00:00:00+00" });
    expect(partitionFor("2026-12")).toEqual({ name: "access_event_2026_12", from: "2026-12-01 00:00:00+00", to: "2027-01-01 00:00:00+00" });
    const months = monthsOf([new Date("2026-12-31T23:59:59.999Z"), new Date("2027-01-01T00:00:00Z"), new Date("2026-12-01T00:00:00Z"), new Date("2026-11-30T23:00:00-02:00")]);
    expect(months.sort()).toEqual(["2026-12", "2027-01"]);
  });
});
