import type { GraphFormat } from "./link.type.js";

export interface GraphNode {
  id: string;
  kind: string;
  jurisdiction: string;
  flagged: boolean;
  /** The account the graph was asked for. */
  focus: boolean;
}

/**
 * Reseller graphs as text an analyst renders: DOT for Graphviz, a Mermaid flowchart for Markdown.
 * Accounts are labelled with their kind and jurisdiction; flagged ones are drawn red and bold; the
 * account asked about is doubly outlined. Every id is quoted (DOT) or aliased (Mermaid): none comes
 * from input unchecked, but the labels are escaped all the same.
 */
export function renderGraph(format: GraphFormat, nodes: GraphNode[], edges: [string, string][], truncated: boolean): string {
  return format === "DOT" ? dot(nodes, edges, truncated) : mermaid(nodes, edges, truncated);
}

const label = (n: GraphNode) => `${n.id}\n${n.kind} · ${n.jurisdiction}${n.flagged ? " · FLAGGED" : ""}`;
const dotString = (text: string) => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

function dot(nodes: GraphNode[], edges: [string, string][], truncated: boolean): string {
  const lines = ["digraph resellers {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];'];
  if (truncated) lines.push(`  // truncated: the first ${nodes.length} accounts only; ask with a smaller maxDepth`);
  for (const n of nodes) {
    const attrs = [`label=${dotString(label(n))}`];
    if (n.flagged) attrs.push("color=red", "fontcolor=red", "style=bold");
    if (n.focus) attrs.push("peripheries=2");
    lines.push(`  ${dotString(n.id)} [${attrs.join(", ")}];`);
  }
  for (const [from, to] of edges) lines.push(`  ${dotString(from)} -> ${dotString(to)};`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** Mermaid's entity codes: a label may hold no quote, and `<`/`>` would read as HTML. */
const mermaidText = (text: string) => text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;").replace(/\n/g, "<br/>");

function mermaid(nodes: GraphNode[], edges: [string, string][], truncated: boolean): string {
  const alias = new Map(nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ["flowchart TD"];
  if (truncated) lines.push(`  %% truncated: the first ${nodes.length} accounts only; ask with a smaller maxDepth`);
  for (const n of nodes) lines.push(`  ${alias.get(n.id)}["${mermaidText(label(n))}"]`);
  for (const [from, to] of edges) lines.push(`  ${alias.get(from)} --> ${alias.get(to)}`);
  const flagged = nodes.filter((n) => n.flagged).map((n) => alias.get(n.id));
  const focus = nodes.filter((n) => n.focus).map((n) => alias.get(n.id));
  if (flagged.length) lines.push("  classDef flagged stroke:#d00,stroke-width:3px,color:#d00", `  class ${flagged.join(",")} flagged`);
  if (focus.length) lines.push("  classDef focus stroke-width:4px", `  class ${focus.join(",")} focus`);
  return `${lines.join("\n")}\n`;
}
