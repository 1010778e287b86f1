// Reading and writing satchel session cookies from Node, with paseto-ts
// for the PASETO v4.local construction. Everything here follows FORMAT.md
// at the repository's root (the section names are quoted in comments); no
// part of it comes from satchel's Go code.

import { decrypt, encrypt } from "paseto-ts/v4";
import { hash } from "@stablelib/blake2b";
import { randomBytes } from "node:crypto";

const encoder = new TextEncoder();

// base64url without padding, and a strict decoder that refuses anything
// that does not re-encode to its input ("Encodings").
function b64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

function fromB64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const bytes = Buffer.from(text, "base64url");
  return b64url(bytes) === text ? bytes : null;
}

// "Keys and key ids": the k4.lid id of a k4.local PASERK.
export function keyId(paserk) {
  if (!/^k4\.local\.[A-Za-z0-9_-]{43}$/.test(paserk) || !fromB64url(paserk.slice(9))) {
    throw new Error("not a k4.local PASERK");
  }
  const digest = hash(encoder.encode("k4.lid." + paserk), 33);
  return "k4.lid." + b64url(digest);
}

// A keyring for this module: PASERKs, the first one primary (the short
// form of "Keyring files"). Returns { primary, byId }.
export function keyring(paserks) {
  if (paserks.length === 0) throw new Error("no keys");
  const byId = new Map(paserks.map((k) => [keyId(k), k]));
  return { primary: paserks[0], byId };
}

// "The implicit assertion": a JSON string exactly as satchel escapes it.
// JSON.stringify differs in two places: it leaves U+2028 and U+2029 raw,
// where satchel writes \u2028 and \u2029.
export function jsonString(s) {
  return JSON.stringify(s).replace(/\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})|[\u2028\u2029]/g, (m) => {
    switch (m) {
      case "\u2028": return "\\u2028";
      case "\u2029": return "\\u2029";
      default: return m;
    }
  });
}

export function implicitAssertion(cookieName, audience = "") {
  return encoder.encode(`{"satchel":"session","cookie":${jsonString(cookieName)},"aud":${jsonString(audience)}}`);
}

// "The cookies": the token from a Cookie request header, joining chunks.
// Returns null when there is no session cookie or the cookies are unusable.
export function tokenFromCookieHeader(header, name, maxChunks = 1) {
  const found = new Map();
  const twice = new Set();
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    if (found.has(k)) twice.add(k);
    found.set(k, part.slice(eq + 1).trim());
  }
  const first = found.get(name);
  // Two cookies with the session's name: no session, not "first wins".
  if (first === undefined || twice.has(name)) return null;
  const m = /^([2-8])~/.exec(first);
  if (!m) return first;
  const n = Number(m[1]);
  if (n > maxChunks) return null;
  let token = first.slice(2);
  for (let i = 1; i < n; i++) {
    const piece = found.get(`${name}.${i}`);
    if (piece === undefined || twice.has(`${name}.${i}`)) return null;
    token += piece;
  }
  return token;
}

const FOOTER = /^\{"kid":"(k4\.lid\.[A-Za-z0-9_-]{44})"\}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function claimTime(claims, name) {
  const v = claims[name];
  if (typeof v !== "string" || !RFC3339.test(v)) throw new Error(`claim ${name} missing or not RFC 3339`);
  return Date.parse(v);
}

// "Opening a token": the session in token, or an exception saying why not.
// options: { ring, cookieName, audience, maxAgeSeconds (default 14 days),
// maxLifetimeSeconds (default maxAgeSeconds), idleTimeoutSeconds (default
// none), leewaySeconds (default 60), maxChunks (default 1), now (ms,
// default Date.now()) }: the reading application's settings.
export function openSession(token, options) {
  const { ring, cookieName, audience = "", maxAgeSeconds = 14 * 24 * 3600, leewaySeconds = 60, maxChunks = 1 } = options;
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? maxAgeSeconds;
  const now = options.now ?? Date.now();
  // What the cookies can hold: 4096 bytes each, less the names and marks.
  if (typeof token !== "string" || token.length > 4096 * maxChunks) throw new Error("too large");
  const parts = token.split(".");
  if (parts.length !== 4 || parts[0] !== "v4" || parts[1] !== "local") throw new Error("not a v4.local token with a footer");
  if (!fromB64url(parts[2])) throw new Error("malformed");
  const footer = fromB64url(parts[3]);
  const m = footer && FOOTER.exec(footer.toString("utf8"));
  if (!m) throw new Error("malformed footer");
  const key = ring.byId.get(m[1]);
  if (!key) throw new Error("unknown key");
  // paseto-ts checks the MAC (with the assertion) before decrypting. Its
  // own claim checks are off: it wants nbf >= iat, which a satchel token
  // written after a session's first response does not meet (nbf is when
  // the session id was issued, iat the last write); the checks below
  // follow FORMAT.md instead.
  const { payload: claims } = decrypt(key, token, {
    assertion: implicitAssertion(cookieName, audience),
    validatePayload: false,
    maxDepth: 32,
    maxKeys: 1024,
  });
  if (claims === null || typeof claims !== "object" || Array.isArray(claims)) throw new Error("claims are not an object");
  const leeway = leewaySeconds * 1000;
  const exp = claimTime(claims, "exp");
  const iat = claimTime(claims, "iat");
  const nbf = claimTime(claims, "nbf");
  if (typeof claims.jti !== "string" || claims.jti === "") throw new Error("no session id");
  if ("sub" in claims && typeof claims.sub !== "string") throw new Error("sub is not a string");
  // "Session metadata": the satchel_* claims.
  const start = "satchel_start" in claims ? claimTime(claims, "satchel_start") : nbf;
  if (start > nbf) throw new Error("satchel_start after nbf");
  let lifetime = maxAgeSeconds;
  if ("satchel_lifetime" in claims) {
    const n = claims.satchel_lifetime;
    if (!Number.isInteger(n) || n < 1) throw new Error("malformed satchel_lifetime");
    lifetime = Math.min(n, maxLifetimeSeconds);
  }
  if ("satchel_browser" in claims && claims.satchel_browser !== true) throw new Error("malformed satchel_browser");
  let flashes = [];
  if ("satchel_flash" in claims) {
    flashes = claims.satchel_flash;
    const ok = Array.isArray(flashes) && flashes.length > 0 && flashes.every((f) =>
      f !== null && typeof f === "object" && typeof f.message === "string" &&
      (f.category === undefined || typeof f.category === "string") &&
      Object.keys(f).every((k) => k === "message" || k === "category"));
    if (!ok) throw new Error("malformed satchel_flash");
  }
  if (now >= exp + leeway) throw new Error("expired");
  if (nbf > now + leeway || iat > now + leeway) throw new Error("not yet valid");
  if (now >= start + lifetime * 1000 + leeway) throw new Error("expired (past the session's lifetime)");
  if (options.idleTimeoutSeconds && now >= iat + options.idleTimeoutSeconds * 1000 + leeway) throw new Error("idle timeout");
  const data = claims.data ?? {};
  if (data === null || typeof data !== "object" || Array.isArray(data)) throw new Error("data is not an object");
  return {
    data,
    id: claims.jti,
    subject: claims.sub ?? "",
    flashes,
    browserOnly: claims.satchel_browser === true,
    lifetimeSeconds: lifetime,
    started: new Date(start),
    expires: new Date(exp),
    keyId: m[1],
  };
}

// Whole-second RFC 3339 in UTC, as satchel writes times.
export function rfc3339(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

// "Writing a token": a token the middleware accepts as the session
// { data, subject, id, created (ms), lifetimeSeconds, browserOnly,
// flashes }. options.maxAgeSeconds is the reading middleware's MaxAge: a
// lifetime that differs from it is written as satchel_lifetime. Any option
// can be overridden to build the refused cases the tests need: kid (the
// footer's id), cookieName/audience (the assertion), exp/iat/nbf (ms).
export function sealSession(session, options) {
  const { ring, cookieName, audience = "", maxAgeSeconds = 14 * 24 * 3600 } = options;
  const now = options.now ?? Date.now();
  const created = session.created ?? now;
  const lifetimeSeconds = session.lifetimeSeconds ?? maxAgeSeconds;
  const lifetime = lifetimeSeconds * 1000;
  const claims = {
    exp: rfc3339(options.exp ?? created + lifetime),
    iat: rfc3339(options.iat ?? now),
    nbf: rfc3339(options.nbf ?? created),
    jti: session.id ?? b64url(randomBytes(16)),
  };
  if (session.subject) claims.sub = session.subject;
  if (session.browserOnly) claims.satchel_browser = true;
  if (session.flashes?.length) claims.satchel_flash = session.flashes;
  if (lifetimeSeconds !== maxAgeSeconds) claims.satchel_lifetime = lifetimeSeconds;
  claims.data = session.data ?? {};
  const kid = options.kid ?? keyId(ring.primary);
  return encrypt(ring.primary, JSON.stringify(claims), {
    footer: `{"kid":"${kid}"}`,
    assertion: implicitAssertion(cookieName, audience),
    addIat: false,
    addExp: false,
    validatePayload: false,
    maxDepth: 32,
    maxKeys: 1024,
  });
}
