/**
 * Read-bench data: a few thousand indicators, GREEN (visible to every member) and AMBER (visible to
 * the owner and the orgs it is shared with). Reader i is shared i+1 AMBER indicators, so every reader
 * sees a different totalCount: no two connections of the read bench may get the same answer.
 */

export const GREEN_SEEDS = 600;
export const HIDDEN_AMBER_SEEDS = 300;

interface SeedItem {
  type: "DOMAIN";
  value: string;
  tlp: "GREEN" | "AMBER";
  confidence: number;
  sharedWith?: string[];
  labels: string[];
}

const PUBLISH = `mutation Seed($input: [IndicatorInput!]!) { publishIndicators(input: $input) { published failed } }`;

/** What each reader should see (its totalCount), by reader index. */
export const expectedVisible = (readerIndex: number) => GREEN_SEEDS + readerIndex + 1;

export async function gql(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  if (res.status !== 200 || json.errors?.length) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json.errors ?? json).slice(0, 500)}`);
  return json.data;
}

export async function seedReadData(gatewayUrl: string, ownerToken: string, readers: string[]): Promise<number> {
  const items: SeedItem[] = [];
  let n = 0;
  const next = (tlp: "GREEN" | "AMBER", sharedWith?: string[]): SeedItem => {
    n++;
    return { type: "DOMAIN", value: `seed-${n}.bench.example.net`, tlp, confidence: 40 + (n % 60), labels: ["bench", `group-${n % 7}`], ...(sharedWith ? { sharedWith } : {}) };
  };
  for (let i = 0; i < HIDDEN_AMBER_SEEDS; i++) items.push(next("AMBER"));
  readers.forEach((org, i) => {
    for (let k = 0; k <= i; k++) items.push(next("AMBER", [org]));
  });
  for (let i = 0; i < GREEN_SEEDS; i++) items.push(next("GREEN"));
  // Mix the colours through the list, so a page of the newest twenty holds both.
  items.sort((a, b) => (a.value < b.value ? -1 : 1));
  for (let i = 0; i < items.length; i += 1000) {
    const data = await gql(gatewayUrl, ownerToken, PUBLISH, { input: items.slice(i, i + 1000) });
    const out = data.publishIndicators;
    if (out.failed) throw new Error(`seeding: ${out.failed} items refused`);
  }
  return items.length;
}
