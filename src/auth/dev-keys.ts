import { mkdir, readFile, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { DEV_AUDIENCE, DEV_ISSUER } from "../config.js";
import type { OrgKind } from "./viewer.js";

/**
 * The development issuer: an ES256 key pair made on first start under DATA_DIR/keys. The private key
 * stays on this machine (mode 0600, never logged); the public half is the JWKS the hub verifies with.
 */
const ALG = "ES256";

export interface DevKeyFiles {
  privateKeyFile: string;
  jwksFile: string;
}

export function devKeyFiles(dataDir: string): DevKeyFiles {
  const dir = join(dataDir, "keys");
  return { privateKeyFile: join(dir, "dev-signing-key.json"), jwksFile: join(dir, "dev-jwks.json") };
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

/** Creates the key pair if it is missing; returns where it is. */
export async function ensureDevKeys(dataDir: string): Promise<DevKeyFiles> {
  const files = devKeyFiles(dataDir);
  if ((await exists(files.privateKeyFile)) && (await exists(files.jwksFile))) return files;
  await mkdir(join(dataDir, "keys"), { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = randomUUID();
  const priv = { ...(await exportJWK(privateKey)), kid, alg: ALG, use: "sig" };
  const pub = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: "sig" };
  await writeFile(files.privateKeyFile, JSON.stringify(priv), { mode: 0o600 });
  await chmod(files.privateKeyFile, 0o600);
  await writeFile(files.jwksFile, JSON.stringify({ keys: [pub] }, null, 2));
  return files;
}

export interface TokenRequest {
  org: string;
  kind: OrgKind;
  scopes: string[];
  sub?: string;
  ttlSeconds?: number;
  /** For tests of the verifier: a token that becomes valid later. */
  notBeforeSeconds?: number;
  issuer?: string;
  audience?: string;
}

export async function mintDevToken(dataDir: string, req: TokenRequest): Promise<string> {
  const { privateKeyFile } = devKeyFiles(dataDir);
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(privateKeyFile, "utf8")) as JWK;
  } catch {
    throw new Error(`No development signing key at ${privateKeyFile}: start the hub once (npm start) to create it, or set DATA_DIR to the hub's`);
  }
  const key = await importJWK(jwk, ALG);
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ org: req.org, org_kind: req.kind, scope: req.scopes.join(" ") })
    .setProtectedHeader({ alg: ALG, kid: jwk.kid, typ: "JWT" })
    .setIssuer(req.issuer ?? DEV_ISSUER)
    .setAudience(req.audience ?? DEV_AUDIENCE)
    .setSubject(req.sub ?? `${req.org}-dev`)
    .setIssuedAt(now)
    .setExpirationTime(now + (req.ttlSeconds ?? 3600));
  if (req.notBeforeSeconds) jwt.setNotBefore(now + req.notBeforeSeconds);
  return jwt.sign(key);
}
