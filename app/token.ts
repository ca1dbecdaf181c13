import { parseArgs } from "node:util";
import { ORG_ID_PATTERN, ORG_KINDS, SCOPES, type OrgKind } from "../src/auth/viewer.js";
import { mintDevToken } from "../src/auth/dev-keys.js";
import { loadConfigOrExit, usesDevIssuer } from "../src/config.js";

/**
 * `npm run token -- --org acme-cloud --kind PROVIDER --scopes "indicators:read indicators:write"`
 * prints a JWT signed by the development key that `npm start` made under DATA_DIR.
 */
const usage = `usage: npm run token -- --org <id> --kind <${ORG_KINDS.join("|")}> --scopes "<scope> ..." [--ttl <seconds>] [--sub <subject>]
scopes: ${SCOPES.join(" ")}`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      org: { type: "string" },
      kind: { type: "string" },
      scopes: { type: "string", default: "" },
      ttl: { type: "string", default: "3600" },
      sub: { type: "string" },
      help: { type: "boolean" },
    },
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const config = loadConfigOrExit();
if (!usesDevIssuer(config)) fail("the development issuer is off: a JWKS is configured, so tokens come from your identity provider");
if (!values.org || !ORG_ID_PATTERN.test(values.org)) fail("--org: an org id (lower-case letters, digits, '-')");
if (!values.kind || !ORG_KINDS.includes(values.kind as OrgKind)) fail(`--kind: one of ${ORG_KINDS.join(", ")}`);
const scopes = values.scopes.split(/[\s,]+/).filter(Boolean);
const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
if (unknown.length) fail(`--scopes: unknown scope(s) ${unknown.join(", ")}`);
const ttl = Number(values.ttl);
const maxTtl = config.auth.AUTH_MAX_TOKEN_LIFETIME_SECONDS;
if (!Number.isInteger(ttl) || ttl < 60 || ttl > maxTtl) fail(`--ttl: whole seconds from 60 to ${maxTtl} (AUTH_MAX_TOKEN_LIFETIME_SECONDS)`);

try {
  const token = await mintDevToken(config.database.DATA_DIR, {
    org: values.org,
    kind: values.kind as OrgKind,
    scopes,
    sub: values.sub,
    ttlSeconds: ttl,
  });
  process.stdout.write(`${token}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
