import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A fenced code block of a Markdown file that a reader would run. */
export interface Example {
  /** `README.md:123`, where the block opens. */
  where: string;
  lang: "sh" | "js";
  code: string;
  /** Why it is not run by the test, when a marker says so. */
  skip?: string;
  /** It streams until stopped: the test stops it after its first event. */
  stream: boolean;
}

const NOT_RUN = /^<!-- not run by test\/readme\.test\.ts: (.+?) -->$/;
const STREAM = /^<!-- test\/readme\.test\.ts: a stream, stopped after its first event -->$/;

/**
 * The ```sh and ```js blocks of a Markdown file, in order. A block is run unless the line just above
 * its fence is a visible marker (`<!-- not run by test/readme.test.ts: <why> -->`), so that a new
 * example is under test by default.
 */
export function examples(root: string, file: string): Example[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(sh|js)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed code block`);
    const marker = (lines[i - 1] ?? "").trim();
    found.push({
      where: `${file}:${i + 1}`,
      lang: open[1] as "sh" | "js",
      code: lines.slice(i + 1, end).join("\n"),
      skip: NOT_RUN.exec(marker)?.[1],
      stream: STREAM.test(marker),
    });
    i = end;
  }
  return found;
}

/** The items of the Markdown list that follows a `## <heading>` line, as their text. */
export function listUnder(root: string, file: string, heading: string): string[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`${file}: no section "## ${heading}"`);
  const items: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith("## ")) break;
    if (line.startsWith("- ")) items.push(line.slice(2));
    else if (/^\s+\S/.test(line) && items.length) items[items.length - 1] += ` ${line.trim()}`;
  }
  return items;
}
