import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../src/paths.js";
import { normalizeValue, stixPattern } from "../subgraphs/indicators/indicator.normalize.js";
import { equalityObservables, MAX_DEPTH, parsePattern, type PatternAst } from "../subgraphs/indicators/stix/pattern.js";

const fixtures = join(projectRoot(), "test", "fixtures");
const SHA256 = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f";
const SHA512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

function ast(pattern: string): PatternAst {
  const parsed = parsePattern(pattern);
  if (!parsed.ok) throw new Error(`${pattern}: ${parsed.message}`);
  return parsed.ast;
}
const observables = (pattern: string) => equalityObservables(ast(pattern));

/** The example patterns of the STIX 2.1 specification, section 9 (object paths 9.4, operators 9.5-9.7, qualifiers 9.8, examples 9.9). */
const SPEC_EXAMPLES = [
  String.raw`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
  String.raw`[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']`,
  String.raw`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']`,
  String.raw`[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
  String.raw`([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS`,
  String.raw`[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']`,
  String.raw`[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']`,
  String.raw`[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']`,
  String.raw`[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]`,
  String.raw`[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']`,
  String.raw`[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']`,
  String.raw`[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS`,
  String.raw`[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']`,
  String.raw`[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']`,
  String.raw`[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']`,
  String.raw`[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\CryptoLocker_0388']`,
  String.raw`[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']`,
  String.raw`[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']`,
  String.raw`[x-usb-device:usbdrive.serial_number = '575833314133343231313937']`,
  String.raw`[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS`,
  String.raw`[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']`,
  String.raw`([file:name = 'foo.dll'] AND [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']`,
  String.raw`[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
  String.raw`[network-traffic:src_ref.value = '203.0.113.10' AND network-traffic:dst_port = 80] REPEATS 5 TIMES`,
  String.raw`[file:created > t'2014-01-13T07:03:17Z']`,
  String.raw`[file:name IN ('proccess.exe', 'setup.exe', 'update.exe')]`,
  String.raw`[directory:path LIKE 'C:\\Windows\\%\\foo']`,
  String.raw`[file:name NOT = 'foo.dll']`,
  String.raw`[ipv4-addr:value ISSUBSET '198.51.100.0/24']`,
  String.raw`[ipv4-addr:value ISSUPERSET '198.51.100.0/24']`,
  String.raw`[network-traffic:extensions.'http-request-ext'.request_header.'Accept-Encoding' = 'gzip']`,
  String.raw`[file:extensions.'ntfs-ext'.alternate_data_streams[0].name = 'second.stream']`,
  String.raw`[windows-registry-key:values[*].name = 'Foo']`,
  String.raw`[process:extensions.'windows-process-ext'.startup_info.dwFlags = 2]`,
  String.raw`[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']`,
  String.raw`[EXISTS windows-registry-key:values]`,
  String.raw`[ipv4-addr:value = '203.0.113.1'] AND [ipv4-addr:value = '203.0.113.2'] WITHIN 30 SECONDS`,
];

describe("STIX 2.1 patterns: parsing", () => {
  it.each(SPEC_EXAMPLES)("parses the specification's example %s", (pattern) => {
    const parsed = parsePattern(pattern);
    expect(parsed).toMatchObject({ ok: true });
  });

  it("parses every STIX indicator pattern of OASIS's example bundles", () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => {
        const path = join(dir, f);
        return statSync(path).isDirectory() ? walk(path) : path.endsWith(".json") ? [path] : [];
      });
    const patterns = walk(join(fixtures, "stix", "examples")).flatMap((file) =>
      ((JSON.parse(readFileSync(file, "utf8")).objects ?? []) as any[])
        .filter((o) => o.type === "indicator" && typeof o.pattern === "string" && (o.pattern_type ?? "stix") === "stix")
        .map((o) => o.pattern as string),
    );
    expect(patterns.length).toBeGreaterThan(20);
    for (const pattern of patterns) expect([pattern, parsePattern(pattern).ok]).toEqual([pattern, true]);
  });

  describe("the corpus (test/fixtures/stix-patterns.json)", () => {
    type Entry = { pattern: string; stix2patterns: "valid" | "invalid"; hub?: "valid" | "invalid"; note: string };
    const corpus = JSON.parse(readFileSync(join(fixtures, "stix-patterns.json"), "utf8")).patterns as Entry[];
    const verdict = (e: Entry) => e.hub ?? e.stix2patterns;

    it("holds at least 60 valid and 40 invalid patterns, each once", () => {
      expect(corpus.filter((e) => verdict(e) === "valid").length).toBeGreaterThanOrEqual(60);
      expect(corpus.filter((e) => verdict(e) === "invalid").length).toBeGreaterThanOrEqual(40);
      expect(new Set(corpus.map((e) => e.pattern)).size).toBe(corpus.length);
    });

    it.each(corpus.map((e) => [e.note, e] as const))("%s", (_note, e) => {
      const parsed = parsePattern(e.pattern);
      expect({ pattern: e.pattern, verdict: parsed.ok ? "valid" : "invalid", ...(parsed.ok ? {} : { message: parsed.message }) }).toMatchObject({
        pattern: e.pattern,
        verdict: verdict(e),
      });
      if (!parsed.ok) {
        expect(parsed.position).toBeGreaterThanOrEqual(0);
        expect(parsed.position).toBeLessThanOrEqual(e.pattern.length);
        expect(parsed.message).toMatch(new RegExp(` at ${parsed.position}\\b`));
      }
    });
  });

  it("names what was expected and the character offset", () => {
    expect(parsePattern("[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'x.example'")).toEqual({
      ok: false,
      message: "expected ']' at 68 (found end of pattern)",
      position: 68,
    });
    expect(parsePattern("[file:size = ]")).toMatchObject({ ok: false, message: "expected a literal at 13 (found ']')", position: 13 });
    expect(parsePattern("[ipv4-addr = '1']")).toMatchObject({ message: "expected ':' at 11 (found '=')", position: 11 });
    expect(parsePattern("[a:b = 1] WITHIN 0 SECONDS")).toMatchObject({ message: "WITHIN must be a positive number of seconds at 17", position: 17 });
    expect(parsePattern("[a:b = 1] REPEATS 0 TIMES")).toMatchObject({ message: "REPEATS must be a positive integer at 18", position: 18 });
    expect(parsePattern("[a:b = t'2020-13-01T00:00:00Z']")).toMatchObject({ position: 7, message: expect.stringMatching(/^invalid timestamp t'2020-13-01T00:00:00Z'.* at 7$/) });
    expect(parsePattern("[a:b = 1] START t'2020-02-01T00:00:00Z' STOP t'2020-01-01T00:00:00Z'")).toMatchObject({ message: "STOP must be later than START at 45" });
    expect(parsePattern("[a:b = h'abc']")).toMatchObject({ message: "invalid hex literal (an even number of hex digits) at 7" });
    expect(parsePattern("[a:b = b'abc']")).toMatchObject({ message: "invalid binary literal (base64) at 7" });
    expect(parsePattern("[file:name = 'x")).toMatchObject({ message: "unterminated string at 13" });
    expect(parsePattern("[a:b = c:d]")).toMatchObject({ message: expect.stringContaining("an object path cannot be compared with another") });
    expect(parsePattern("[file:hashes.'SHA-256' = 'f00']")).toMatchObject({ message: "'f00' is not a valid SHA-256 hash at 25" });
    expect(parsePattern("[a:b = 1] WITHIN 5 SECONDS WITHIN 6 SECONDS")).toMatchObject({ message: "duplicate WITHIN qualifier at 27" });
    expect(parsePattern("  file:size = 1")).toMatchObject({ position: 2 });
    expect(parsePattern("[file:extensions.windows-pebinary-ext.entropy > 7.0]")).toMatchObject({
      message: expect.stringContaining("'windows-pebinary-ext' has a hyphen and must be quoted"),
    });
  });

  it("builds the tree: operators, precedence, paths, literals and qualifiers", () => {
    expect(ast("[a:b = 1] AND [c:d = 2] OR [e:f = 3] FOLLOWEDBY [g:h = 4]")).toEqual({
      kind: "followedBy",
      operands: [
        {
          kind: "or",
          operands: [
            { kind: "and", operands: [expect.objectContaining({ kind: "observation" }), expect.objectContaining({ kind: "observation" })] },
            expect.objectContaining({ kind: "observation" }),
          ],
        },
        expect.objectContaining({ kind: "observation" }),
      ],
    });
    expect(ast(String.raw`[x-thing:a.'b c'[*][2].d NOT MATCHES 'it\'s \\d'] REPEATS 3 TIMES WITHIN 2.5 SECONDS`)).toEqual({
      kind: "qualified",
      qualifier: { kind: "within", seconds: 2.5 },
      expression: {
        kind: "qualified",
        qualifier: { kind: "repeats", times: 3 },
        expression: {
          kind: "observation",
          comparison: {
            kind: "comparison",
            path: { objectType: "x-thing", steps: [{ key: "a" }, { key: "b c" }, { index: "*" }, { index: 2 }, { key: "d" }] },
            negated: true,
            operator: "MATCHES",
            value: { type: "string", value: String.raw`it's \d` },
          },
        },
      },
    });
    expect(ast("[a:b IN (1, -2.5, true, t'2020-01-01T00:00:00Z', h'ff', b'AA==', 'x') AND EXISTS a:c]")).toEqual({
      kind: "observation",
      comparison: {
        kind: "and",
        operands: [
          {
            kind: "in",
            path: { objectType: "a", steps: [{ key: "b" }] },
            negated: false,
            values: [
              { type: "int", value: 1 },
              { type: "float", value: -2.5 },
              { type: "bool", value: true },
              { type: "timestamp", value: "2020-01-01T00:00:00Z" },
              { type: "hex", value: "ff" },
              { type: "binary", value: "AA==" },
              { type: "string", value: "x" },
            ],
          },
          { kind: "exists", path: { objectType: "a", steps: [{ key: "c" }] } },
        ],
      },
    });
    expect(ast("[a:b = 1] START t'2016-06-01T00:00:00.5Z' STOP t'2016-06-01T00:00:00.50001Z'")).toMatchObject({
      kind: "qualified",
      qualifier: { kind: "startStop", start: "2016-06-01T00:00:00.5Z", stop: "2016-06-01T00:00:00.50001Z" },
    });
  });

  it("parses a 10,000-clause pattern without deep recursion, and refuses nesting deeper than the limit by name", () => {
    const clauses = Array.from({ length: 10_000 }, (_, i) => `ipv4-addr:value = '10.0.${Math.floor(i / 256)}.${i % 256}'`);
    expect(observables(`[${clauses.join(" OR ")}]`)).toHaveLength(10_000);
    const observations = clauses.map((c) => `[${c}]`);
    expect(observables(observations.join(" AND "))).toHaveLength(10_000);
    expect(observables(observations.join(" FOLLOWEDBY "))).toHaveLength(10_000);

    const nested = (depth: number) => `${"(".repeat(depth - 1)}[a:b = 1]${")".repeat(depth - 1)}`;
    expect(parsePattern(nested(MAX_DEPTH)).ok).toBe(true);
    expect(parsePattern(nested(MAX_DEPTH + 1))).toMatchObject({ ok: false, message: `nesting deeper than ${MAX_DEPTH} levels at ${MAX_DEPTH}` });
    const deepComparison = `[${"(".repeat(10_000)}a:b = 1${")".repeat(10_000)}]`;
    expect(parsePattern(deepComparison)).toMatchObject({ ok: false, message: expect.stringContaining("nesting deeper than") });
  });
});

describe("STIX 2.1 patterns: the observables they assert", () => {
  it("does not take OR inside a quoted string for an operator", () => {
    expect(observables("[file:name = 'a OR b']")).toEqual([{ type: "FILE_NAME", value: "a OR b", path: "file:name" }]);
  });

  it("gives every equality of an OR, of each type", () => {
    expect(observables("[ipv4-addr:value = '198.51.100.1' OR file:name = 'x.exe']")).toEqual([
      { type: "IPV4", value: "198.51.100.1", path: "ipv4-addr:value" },
      { type: "FILE_NAME", value: "x.exe", path: "file:name" },
    ]);
  });

  it("gives a CIDR for ISSUBSET and for an address with a prefix", () => {
    expect(observables("[ipv4-addr:value ISSUBSET '198.51.100.0/24']")).toEqual([{ type: "CIDR", value: "198.51.100.0/24", path: "ipv4-addr:value" }]);
    expect(observables("[ipv6-addr:value ISSUBSET '2001:db8::/32' OR ipv4-addr:value = '10.0.0.0/8']")).toEqual([
      { type: "CIDR", value: "2001:db8::/32", path: "ipv6-addr:value" },
      { type: "CIDR", value: "10.0.0.0/8", path: "ipv4-addr:value" },
    ]);
    expect(observables("[ipv6-addr:value = '2001:db8::1']")).toEqual([{ type: "IPV6", value: "2001:db8::1", path: "ipv6-addr:value" }]);
    // ISSUPERSET says nothing about one network the indicator names.
    expect(observables("[ipv4-addr:value ISSUPERSET '198.51.100.0/24']")).toEqual([]);
  });

  it("reads hash names in any case, quoted or not", () => {
    const md5 = "cead3f77f6cda6ec00f57d76c9a6879f";
    const sha1 = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";
    expect(
      observables(
        `[file:hashes.'SHA-512' = '${SHA512}' OR file:hashes.md5 = '${md5}' OR file:hashes.'sha-1' = '${sha1}' OR file:hashes.SHA1 = '${sha1}' OR file:hashes.sha256 = '${SHA256}' OR file:hashes.'SHA-256' = '${SHA256}' OR file:hashes.sha512 = '${SHA512}']`,
      ).map((o) => [o.type, o.path]),
    ).toEqual([
      ["SHA512", "file:hashes.'SHA-512'"],
      ["MD5", "file:hashes.md5"],
      ["SHA1", "file:hashes.'sha-1'"],
      ["SHA1", "file:hashes.SHA1"],
      ["SHA256", "file:hashes.sha256"],
      ["SHA256", "file:hashes.'SHA-256'"],
      ["SHA512", "file:hashes.sha512"],
    ]);
    expect(observables(`[file:hashes.'SHA-512' = '${SHA512}']`)).toEqual([{ type: "SHA512", value: SHA512, path: "file:hashes.'SHA-512'" }]);
  });

  it("gives nothing for a negated comparison, other operators, other literals or other paths", () => {
    expect(observables("[file:name NOT = 'x.exe']")).toEqual([]);
    expect(observables("[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']")).toEqual([]);
    expect(observables("[domain-name:value NOT IN ('a.example', 'b.example')]")).toEqual([]);
    expect(observables("[domain-name:value != 'a.example']")).toEqual([]);
    expect(observables("[domain-name:value LIKE '%.example' OR url:value MATCHES '^http']")).toEqual([]);
    expect(observables("[file:name = h'ff' OR file:name = 5 OR file:name = true]")).toEqual([]);
    expect(observables("[network-traffic:dst_ref.value = '198.51.100.1' OR file:parent_directory_ref.name = 'x' OR x-ipv4:value = '1.2.3.4']")).toEqual([]);
    expect(observables("[domain-name:value ISSUBSET 'example.com']")).toEqual([]);
  });

  it("gives each member of IN", () => {
    expect(observables("[domain-name:value IN ('a.example', 'b.example')]")).toEqual([
      { type: "DOMAIN", value: "a.example", path: "domain-name:value" },
      { type: "DOMAIN", value: "b.example", path: "domain-name:value" },
    ]);
  });

  it("gives the literal as written, unescaped and not normalised", () => {
    expect(observables("[url:value = 'http://example.com']")).toEqual([{ type: "URL", value: "http://example.com", path: "url:value" }]);
    expect(observables(String.raw`[file:name = 'it\'s a \\ name.exe' AND email-addr:value = 'J.Doe@Example.COM']`)).toEqual([
      { type: "FILE_NAME", value: String.raw`it's a \ name.exe`, path: "file:name" },
      { type: "EMAIL", value: "J.Doe@Example.COM", path: "email-addr:value" },
    ]);
  });

  it("looks into every observation, whatever the operators and qualifiers", () => {
    expect(
      observables(
        "([ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [domain-name:value = 'a.example' AND file:size > 5]) WITHIN 60 SECONDS OR [url:value = 'http://a.example/x'] REPEATS 2 TIMES",
      ).map((o) => o.type),
    ).toEqual(["IPV4", "DOMAIN", "URL"]);
  });

  it("round-trips the hub's own patterns, SHA512 and FILE_NAME included", () => {
    const cases = [
      ["SHA512", SHA512],
      ["FILE_NAME", String.raw`it's \ odd.exe`],
      ["CIDR", "198.51.100.0/24"],
      ["CIDR", "2001:db8::/32"],
      ["URL", "http://example.com/"],
      ["SHA256", SHA256],
    ] as const;
    for (const [type, value] of cases) expect(observables(stixPattern(type, value)).map((o) => [o.type, o.value])).toEqual([[type, value]]);
  });

  it("normalises SHA512 and FILE_NAME values", () => {
    expect(normalizeValue("SHA512", SHA512.toUpperCase())).toEqual({ ok: true, value: SHA512 });
    expect(normalizeValue("SHA512", SHA256)).toMatchObject({ ok: false, message: "not a SHA512 hash (128 hex digits)" });
    expect(normalizeValue("FILE_NAME", " Invoice .PDF.exe")).toEqual({ ok: true, value: " Invoice .PDF.exe" });
    expect(normalizeValue("FILE_NAME", "")).toMatchObject({ ok: false });
    expect(normalizeValue("FILE_NAME", "a\u0007b")).toMatchObject({ ok: false, message: "contains control characters" });
    expect(normalizeValue("FILE_NAME", "x".repeat(2049))).toMatchObject({ ok: false, message: "longer than 2048 characters" });
  });
});
