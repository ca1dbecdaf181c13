import { excerpt } from "../../../src/text.js";
import type { ObservableType } from "../indicator.normalize.js";

/**
 * STIX 2.1 patterning (specification section 9): a tokenizer and a recursive-descent parser of the
 * whole grammar of OASIS's STIXPattern.g4, with the checks beyond syntax that OASIS's stix2-patterns
 * validator makes (hash values well formed for their algorithm, one qualifier of a kind on a bracketed
 * observation) and those the specification states and that validator leaves out (WITHIN and REPEATS
 * positive, START before STOP, timestamps that are real dates).
 *
 * AND/OR/FOLLOWEDBY chains are parsed by iteration, so only parentheses and brackets add recursion,
 * and those are limited to MAX_DEPTH levels.
 */

export type PathStep = { key: string } | { index: number | "*" };
export type ObjectPath = { objectType: string; steps: PathStep[] };

export type Literal =
  | { type: "string"; value: string }
  | { type: "int" | "float"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "timestamp"; value: string }
  | { type: "hex"; value: string }
  | { type: "binary"; value: string };

export type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET";

export type ComparisonExpression =
  | { kind: "comparison"; path: ObjectPath; negated: boolean; operator: ComparisonOperator; value: Literal }
  | { kind: "in"; path: ObjectPath; negated: boolean; values: Literal[] }
  | { kind: "exists"; path: ObjectPath }
  | { kind: "and" | "or"; operands: ComparisonExpression[] };

export type Qualifier =
  | { kind: "within"; seconds: number }
  | { kind: "repeats"; times: number }
  | { kind: "startStop"; start: string; stop: string };

export type ObservationExpression =
  | { kind: "observation"; comparison: ComparisonExpression }
  | { kind: "and" | "or" | "followedBy"; operands: ObservationExpression[] }
  | { kind: "qualified"; expression: ObservationExpression; qualifier: Qualifier };

export type PatternAst = ObservationExpression;

export type ParsedPattern = { ok: true; ast: PatternAst } | { ok: false; message: string; position: number };

/** Parentheses and brackets nested deeper than this are refused rather than risking the stack. */
export const MAX_DEPTH = 100;

// The grammar's reserved words (LAST among them, though no rule uses it): none of them can be a name.
const KEYWORDS = new Set([
  "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET", "EXISTS", "LAST", "IN", "START", "STOP", "SECONDS", "WITHIN", "REPEATS", "TIMES",
]);

type TokenKind = "punct" | "op" | "keyword" | "ident" | "string" | "int" | "float" | "bool" | "timestamp" | "hex" | "binary" | "eof";
type Token = { kind: TokenKind; text: string; start: number; end: number; value?: string | number | boolean; hyphen?: boolean };

class PatternError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

const fail = (message: string, position: number, found?: string): never => {
  throw new PatternError(`${message} at ${position}${found ? ` (found ${found})` : ""}`, position);
};

// The WS rule of STIXPattern.g4.
const isSpace = (c: number): boolean =>
  c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
const QUOTE = 0x27;
const BACKSLASH = 0x5c;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isIdentStart = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c);

const TIMESTAMP = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$/;
const HEX = /^(?:[0-9A-Fa-f]{2})*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** The text between the quotes of h'…', b'…' or t'…' starting at `start` (the letter). */
function prefixedBody(text: string, start: number, what: string): { body: string; end: number } {
  const close = text.indexOf("'", start + 2);
  if (close < 0) fail(`unterminated ${what}`, start);
  return { body: text.slice(start + 2, close), end: close + 1 };
}

/** Tokens one at a time, so that a syntax error is reported before any lexical error after it. */
class Lexer {
  private i = 0;

  constructor(private readonly text: string) {}

  private token(kind: TokenKind, start: number, end: number, value?: Token["value"], hyphen?: boolean): Token {
    this.i = end;
    return { kind, text: this.text.slice(start, end), start, end, value, hyphen };
  }

  next(): Token {
    const text = this.text;
    const n = text.length;
    let i = this.i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (isSpace(c)) {
        i++;
        continue;
      }
      const start = i;
      const ch = text[i]!;
      const next = text[i + 1];
      if (ch === "/" && next === "*") {
        const close = text.indexOf("*/", i + 2);
        if (close < 0) fail("unterminated comment", start);
        i = close + 2;
        continue;
      }
      if (ch === "/" && next === "/") {
        while (i < n && text[i] !== "\n" && text[i] !== "\r") i++;
        continue;
      }
      if (c === QUOTE) {
        let value = "";
        let from = ++i;
        for (;;) {
          if (i >= n) fail("unterminated string", start);
          const d = text.charCodeAt(i);
          if (d === QUOTE) break;
          if (d === BACKSLASH) {
            const e = text.charCodeAt(i + 1);
            if (e !== QUOTE && e !== BACKSLASH) fail("invalid escape in string (only \\' and \\\\ are allowed)", i);
            value += text.slice(from, i);
            from = ++i;
          }
          i++;
        }
        value += text.slice(from, i);
        return this.token("string", start, i + 1, value);
      }
      if ((ch === "t" || ch === "h" || ch === "b") && next === "'") {
        if (ch === "t") {
          const { body, end } = prefixedBody(text, start, "timestamp");
          const m = TIMESTAMP.exec(body);
          if (!m) fail(`invalid timestamp t'${excerpt(body, 40)}' (RFC 3339 in UTC, e.g. t'2020-01-01T00:00:00Z')`, start);
          if (Number(m![3]) > daysInMonth(Number(m![1]), Number(m![2]))) fail(`invalid timestamp t'${body}': no such day`, start);
          return this.token("timestamp", start, end, body);
        } else if (ch === "h") {
          const { body, end } = prefixedBody(text, start, "hex literal");
          if (!HEX.test(body)) fail("invalid hex literal (an even number of hex digits)", start);
          return this.token("hex", start, end, body);
        } else {
          const { body, end } = prefixedBody(text, start, "binary literal");
          if (!BASE64.test(body)) fail("invalid binary literal (base64)", start);
          return this.token("binary", start, end, body);
        }
      }
      if (isIdentStart(c)) {
        let hyphen = false;
        i++;
        for (; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d === 0x2d) hyphen = true;
          else if (!isIdentPart(d)) break;
        }
        const word = text.slice(start, i);
        if (KEYWORDS.has(word)) return this.token("keyword", start, i);
        if (word === "true" || word === "false") return this.token("bool", start, i, word === "true");
        return this.token("ident", start, i, undefined, hyphen);
      }
      const signed = (ch === "+" || ch === "-") && (isDigit(text.charCodeAt(i + 1)) || (next === "." && isDigit(text.charCodeAt(i + 2))));
      if (isDigit(c) || signed || (ch === "." && isDigit(text.charCodeAt(i + 1)))) {
        if (signed) i++;
        const digitsStart = i;
        while (isDigit(text.charCodeAt(i))) i++;
        if (text[i] === "." && isDigit(text.charCodeAt(i + 1))) {
          i++;
          while (isDigit(text.charCodeAt(i))) i++;
          return this.token("float", start, i, Number(text.slice(start, i)));
        }
        if (i - digitsStart > 1 && text[digitsStart] === "0") fail("integer with a leading zero", start);
        return this.token("int", start, i, Number(text.slice(start, i)));
      }
      const two = text.slice(i, i + 2);
      if (two === "==" || two === "!=" || two === "<>" || two === "<=" || two === ">=") {
        const op = this.token("op", start, i + 2);
        op.text = two === "==" ? "=" : two === "<>" ? "!=" : two;
        return op;
      }
      if (ch === "=" || ch === "<" || ch === ">" || "[]():.,*".includes(ch)) return this.token(ch === "=" || ch === "<" || ch === ">" ? "op" : "punct", start, i + 1);
      return fail(`unexpected character ${JSON.stringify(String.fromCodePoint(text.codePointAt(i)!))}`, start);
    }
    return this.token("eof", n, n);
  }
}

// stix2-patterns checks values compared with `…hashes.<algorithm>` against these forms.
const HASH_FORMS: Record<string, [RegExp, string]> = {
  MD5: [/^[a-fA-F0-9]{32}$/, "MD5"],
  RIPEMD160: [/^[a-fA-F0-9]{40}$/, "RIPEMD-160"],
  SHA1: [/^[a-fA-F0-9]{40}$/, "SHA-1"],
  SHA224: [/^[a-fA-F0-9]{56}$/, "SHA-224"],
  SHA256: [/^[a-fA-F0-9]{64}$/, "SHA-256"],
  SHA384: [/^[a-fA-F0-9]{96}$/, "SHA-384"],
  SHA512: [/^[a-fA-F0-9]{128}$/, "SHA-512"],
  SHA3224: [/^[a-fA-F0-9]{56}$/, "SHA3-224"],
  SHA3256: [/^[a-fA-F0-9]{64}$/, "SHA3-256"],
  SHA3384: [/^[a-fA-F0-9]{96}$/, "SHA3-384"],
  SHA3512: [/^[a-fA-F0-9]{128}$/, "SHA3-512"],
  SSDEEP: [/^[a-zA-Z0-9/+:.]{1,128}$/, "SSDEEP"],
  WHIRLPOOL: [/^[a-fA-F0-9]{128}$/, "WHIRLPOOL"],
};

const QUOTED: TokenKind[] = ["string", "timestamp", "hex", "binary"];
const tokenName = (t: Token): string => {
  if (t.kind === "eof") return "end of pattern";
  const text = excerpt(t.text, 40);
  return QUOTED.includes(t.kind) ? text : `'${text}'`;
};

class Parser {
  private readonly tokens: Token[] = [];
  private i = 0;
  private depth = 0;

  constructor(private readonly lexer: Lexer) {}

  private get t(): Token {
    return this.peek(0);
  }

  private peek(ahead: number): Token {
    while (this.tokens.length <= this.i + ahead) {
      const last = this.tokens[this.tokens.length - 1];
      this.tokens.push(last?.kind === "eof" ? last : this.lexer.next());
    }
    return this.tokens[this.i + ahead]!;
  }

  private is(text: string, kind: TokenKind = "punct"): boolean {
    const t = this.t;
    return t.kind === kind && t.text === text;
  }

  private accept(text: string, kind: TokenKind = "punct"): boolean {
    if (!this.is(text, kind)) return false;
    this.i++;
    return true;
  }

  private expected(what: string): never {
    return fail(`expected ${what}`, this.t.start, tokenName(this.t));
  }

  private expect(text: string, kind: TokenKind = "punct"): Token {
    if (!this.is(text, kind)) this.expected(`'${text}'`);
    return this.tokens[this.i++]!;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`, this.t.start);
  }

  pattern(): PatternAst {
    const ast = this.followedBy();
    if (this.t.kind !== "eof") this.expected("AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern");
    return ast;
  }

  private followedBy(): ObservationExpression {
    const operands = [this.observationOr()];
    while (this.accept("FOLLOWEDBY", "keyword")) operands.push(this.observationOr());
    return operands.length === 1 ? operands[0]! : { kind: "followedBy", operands };
  }

  private observationOr(): ObservationExpression {
    const operands = [this.observationAnd()];
    while (this.accept("OR", "keyword")) operands.push(this.observationAnd());
    return operands.length === 1 ? operands[0]! : { kind: "or", operands };
  }

  private observationAnd(): ObservationExpression {
    const operands = [this.observation()];
    while (this.accept("AND", "keyword")) operands.push(this.observation());
    return operands.length === 1 ? operands[0]! : { kind: "and", operands };
  }

  private observation(): ObservationExpression {
    let expression: ObservationExpression;
    const bracketed = this.is("[");
    if (bracketed) {
      this.enter();
      this.i++;
      expression = { kind: "observation", comparison: this.comparisonOr() };
      this.expect("]");
      this.depth--;
    } else if (this.is("(")) {
      this.enter();
      this.i++;
      expression = this.followedBy();
      this.expect(")");
      this.depth--;
    } else return this.expected("'[' or '('");
    // stix2-patterns refuses a repeated kind of qualifier directly on […], not on (…).
    const seen = new Set<string>();
    for (;;) {
      const at = this.t.start;
      const qualifier = this.qualifier();
      if (!qualifier) return expression;
      if (bracketed && seen.has(qualifier.kind)) fail(`duplicate ${qualifier.kind === "startStop" ? "START/STOP" : qualifier.kind.toUpperCase()} qualifier`, at);
      seen.add(qualifier.kind);
      expression = { kind: "qualified", expression, qualifier };
    }
  }

  private qualifier(): Qualifier | null {
    if (this.accept("WITHIN", "keyword")) {
      const t = this.t;
      if (t.kind !== "int" && t.kind !== "float") this.expected("a number of seconds");
      if (t.text.startsWith("-") || (t.value as number) <= 0) fail("WITHIN must be a positive number of seconds", t.start);
      this.i++;
      this.expect("SECONDS", "keyword");
      return { kind: "within", seconds: t.value as number };
    }
    if (this.accept("REPEATS", "keyword")) {
      const t = this.t;
      if (t.kind !== "int") this.expected("a number of times");
      if (t.text.startsWith("-") || (t.value as number) <= 0) fail("REPEATS must be a positive integer", t.start);
      this.i++;
      this.expect("TIMES", "keyword");
      return { kind: "repeats", times: t.value as number };
    }
    if (this.accept("START", "keyword")) {
      const start = this.t;
      if (start.kind !== "timestamp") this.expected("a timestamp t'…'");
      this.i++;
      this.expect("STOP", "keyword");
      const stop = this.t;
      if (stop.kind !== "timestamp") this.expected("a timestamp t'…'");
      if (compareTimestamps(start.value as string, stop.value as string) >= 0) fail("STOP must be later than START", stop.start);
      this.i++;
      return { kind: "startStop", start: start.value as string, stop: stop.value as string };
    }
    return null;
  }

  private comparisonOr(): ComparisonExpression {
    const operands = [this.comparisonAnd()];
    while (this.accept("OR", "keyword")) operands.push(this.comparisonAnd());
    return operands.length === 1 ? operands[0]! : { kind: "or", operands };
  }

  private comparisonAnd(): ComparisonExpression {
    const operands = [this.propTest()];
    while (this.accept("AND", "keyword")) operands.push(this.propTest());
    return operands.length === 1 ? operands[0]! : { kind: "and", operands };
  }

  private propTest(): ComparisonExpression {
    if (this.is("(")) {
      this.enter();
      this.i++;
      const inner = this.comparisonOr();
      this.expect(")");
      this.depth--;
      return inner;
    }
    if (this.accept("EXISTS", "keyword")) return { kind: "exists", path: this.objectPath() };
    const path = this.objectPath();
    const negated = this.accept("NOT", "keyword");
    const op = this.t;
    if (op.kind === "op") {
      this.i++;
      const operator = op.text as ComparisonOperator;
      const orderable = operator !== "=" && operator !== "!=";
      const value = this.literal(orderable ? "a literal (not a boolean)" : "a literal");
      if (orderable && value.literal.type === "bool") fail(`${operator} cannot compare with a boolean`, value.token.start);
      checkHash(path, [value.token]);
      return { kind: "comparison", path, negated, operator, value: value.literal };
    }
    if (op.kind === "keyword" && (op.text === "LIKE" || op.text === "MATCHES" || op.text === "ISSUBSET" || op.text === "ISSUPERSET")) {
      this.i++;
      const t = this.t;
      if (t.kind !== "string") this.expected(`a string literal after ${op.text}`);
      this.i++;
      checkHash(path, [t]);
      return { kind: "comparison", path, negated, operator: op.text, value: { type: "string", value: t.value as string } };
    }
    if (this.accept("IN", "keyword")) {
      this.expect("(");
      const members: { literal: Literal; token: Token }[] = [];
      if (!this.accept(")")) {
        do members.push(this.literal("a literal"));
        while (this.accept(","));
        this.expect(")");
      }
      checkHash(
        path,
        members.map((m) => m.token),
      );
      return { kind: "in", path, negated, values: members.map((m) => m.literal) };
    }
    return this.expected(negated ? "a comparison operator after NOT" : "a comparison operator (= != < <= > >= IN LIKE MATCHES ISSUBSET ISSUPERSET) or NOT");
  }

  private literal(what: string): { literal: Literal; token: Token } {
    const t = this.t;
    let literal: Literal;
    switch (t.kind) {
      case "string":
      case "timestamp":
      case "hex":
      case "binary":
        literal = { type: t.kind, value: t.value as string };
        break;
      case "int":
      case "float":
        literal = { type: t.kind, value: t.value as number };
        break;
      case "bool":
        literal = { type: "bool", value: t.value as boolean };
        break;
      default:
        if (t.kind !== "ident") return this.expected(what);
        return this.expected(this.peek(1).text === ":" ? `${what} (an object path cannot be compared with another)` : `${what} (strings are quoted: '…')`);
    }
    this.i++;
    return { literal, token: t };
  }

  private propertyName(): string {
    const t = this.t;
    if (t.kind === "string") {
      this.i++;
      return t.value as string;
    }
    if (t.kind === "ident") {
      if (t.hyphen) fail(`property name '${t.text}' has a hyphen and must be quoted ('${t.text}')`, t.start);
      this.i++;
      return t.text;
    }
    return this.expected("a property name");
  }

  private objectPath(): ObjectPath {
    const type = this.t;
    if (type.kind !== "ident") this.expected("an object path (type:property)");
    this.i++;
    this.expect(":");
    const steps: PathStep[] = [{ key: this.propertyName() }];
    for (;;) {
      if (this.accept(".")) steps.push({ key: this.propertyName() });
      else if (this.accept("[")) {
        const t = this.t;
        if (t.kind === "int") steps.push({ index: t.value as number });
        else if (this.is("*")) steps.push({ index: "*" });
        else this.expected("a list index or '*'");
        this.i++;
        this.expect("]");
      } else return { objectType: type.text, steps };
    }
  }
}

/** Timestamps of the form TIMESTAMP, in time order (fractions of any length). */
function compareTimestamps(a: string, b: string): number {
  const [wholeA, fracA = ""] = a.slice(0, -1).split(".");
  const [wholeB, fracB = ""] = b.slice(0, -1).split(".");
  if (wholeA !== wholeB) return wholeA! < wholeB! ? -1 : 1;
  const width = Math.max(fracA.length, fracB.length);
  const fa = fracA.padEnd(width, "0");
  const fb = fracB.padEnd(width, "0");
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

/** As stix2-patterns: a value compared with `…hashes.<algorithm>` must look like such a hash. */
function checkHash(path: ObjectPath, values: Token[]): void {
  const last = path.steps[path.steps.length - 1]!;
  if (!("key" in last) || !path.steps.some((s) => "key" in s && s.key === "hashes")) return;
  const form = HASH_FORMS[last.key.toUpperCase().replace(/[-']/g, "")];
  if (!form) return;
  for (const t of values) {
    const text = t.text.replace(/'/g, "");
    if (!form[0].test(text)) fail(`'${excerpt(text, 40)}' is not a valid ${form[1]} hash`, t.start);
  }
}

/** stix2-patterns looks at the first character that is neither white space nor '(': it must be '['. */
function firstBracket(text: string): number | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c) || c === 0x28) continue;
    return c === 0x5b ? null : i;
  }
  return text.length;
}

/** The syntax tree of a STIX 2.1 pattern, or what was expected where (a character offset). */
export function parsePattern(text: string): ParsedPattern {
  try {
    const missing = firstBracket(text);
    if (missing !== null) fail("expected '[' (a pattern starts with an observation)", missing);
    return { ok: true, ast: new Parser(new Lexer(text)).pattern() };
  } catch (e) {
    if (e instanceof PatternError) return { ok: false, message: e.message, position: e.position };
    throw e;
  }
}

const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An object path as pattern text, quoting the property names that need it. */
export function formatPath(path: ObjectPath): string {
  let out = `${path.objectType}:`;
  for (const [i, step] of path.steps.entries()) {
    if ("index" in step) out += `[${step.index}]`;
    else {
      const name = SIMPLE_NAME.test(step.key) && !KEYWORDS.has(step.key) && step.key !== "true" && step.key !== "false" ? step.key : `'${step.key.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
      out += i === 0 ? name : `.${name}`;
    }
  }
  return out;
}

const HASH_TYPES: Record<string, ObservableType> = {
  md5: "MD5",
  "sha-1": "SHA1",
  sha1: "SHA1",
  "sha-256": "SHA256",
  sha256: "SHA256",
  "sha-512": "SHA512",
  sha512: "SHA512",
};

/** The hub's observable type for a value compared with `path`, or null when the hub carries none like it. */
function observableType(path: ObjectPath, value: string, subset: boolean): ObservableType | null {
  const keys = path.steps.map((s) => ("key" in s ? s.key : null));
  const [first, second] = keys;
  if (keys.length === 1) {
    switch (`${path.objectType}:${first}`) {
      case "ipv4-addr:value":
        return value.includes("/") ? "CIDR" : "IPV4";
      case "ipv6-addr:value":
        return value.includes("/") ? "CIDR" : "IPV6";
      case "domain-name:value":
        return subset ? null : "DOMAIN";
      case "url:value":
        return subset ? null : "URL";
      case "email-addr:value":
        return subset ? null : "EMAIL";
      case "file:name":
        return subset ? null : "FILE_NAME";
    }
    return null;
  }
  if (keys.length === 2 && !subset && path.objectType === "file" && first === "hashes" && second) return HASH_TYPES[second.toLowerCase()] ?? null;
  return null;
}

export type PatternObservable = { type: ObservableType; value: string; path: string };

/**
 * The observables a pattern asserts: every `path = 'literal'` and `path IN ('…', …)` that is not
 * negated, and `ISSUBSET 'cidr'` on an IP address, on the paths the hub carries. Values are the
 * literals' text, unescaped and not normalised.
 */
export function equalityObservables(ast: PatternAst): PatternObservable[] {
  const found: PatternObservable[] = [];
  const add = (path: ObjectPath, literal: Literal, subset: boolean): void => {
    if (literal.type !== "string") return;
    const type = observableType(path, literal.value, subset);
    if (type) found.push({ type, value: literal.value, path: formatPath(path) });
  };
  const stack: (ObservationExpression | ComparisonExpression)[] = [ast];
  const comparisons: ComparisonExpression[] = [];
  while (stack.length) {
    const node = stack.pop()!;
    switch (node.kind) {
      case "observation":
        stack.push(node.comparison);
        break;
      case "qualified":
        stack.push(node.expression);
        break;
      case "and":
      case "or":
      case "followedBy":
        for (let i = node.operands.length - 1; i >= 0; i--) stack.push(node.operands[i]!);
        break;
      default:
        comparisons.push(node);
    }
  }
  for (const c of comparisons) {
    if (c.kind === "comparison" && !c.negated && c.operator === "=") add(c.path, c.value, false);
    else if (c.kind === "comparison" && !c.negated && c.operator === "ISSUBSET") add(c.path, c.value, true);
    else if (c.kind === "in" && !c.negated) for (const v of c.values) add(c.path, v, false);
  }
  return found;
}
