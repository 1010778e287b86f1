// Driver for the Go interop test (interop_test.go): reads one JSON request
// on stdin, answers one JSON object on stdout.
//
//   { keys: [PASERK, ...],          the Node side's keyring, first primary
//     cookieName, audience, maxAgeSeconds, maxLifetimeSeconds,
//     idleTimeoutSeconds, maxChunks,     the reading application's settings
//     open: [COOKIE_HEADER, ...],   each opened as a browser's Cookie header
//     seal: [{ session, kid?, cookieName?, audience?, exp?, iat?, nbf? }],
//     ids: [PASERK, ...], assertions: [{ cookieName, audience }] }
//
// Answers { open: [{ ok, data, id, subject, flashes, browserOnly,
// lifetimeSeconds, started } or { ok: false, error }], seal: [TOKEN],
// ids: [ID], assertions: [HEX] }.
import { readFileSync } from "node:fs";
import { implicitAssertion, keyId, keyring, openSession, sealSession, tokenFromCookieHeader } from "./satchel.mjs";

const req = JSON.parse(readFileSync(0, "utf8"));
const ring = keyring(req.keys ?? []);
const maxChunks = req.maxChunks ?? 1;
const base = {
  ring,
  cookieName: req.cookieName,
  audience: req.audience ?? "",
  maxAgeSeconds: req.maxAgeSeconds,
  maxLifetimeSeconds: req.maxLifetimeSeconds,
  idleTimeoutSeconds: req.idleTimeoutSeconds,
  maxChunks,
};

const out = { open: [], seal: [], ids: [], assertions: [] };
for (const header of req.open ?? []) {
  try {
    const token = tokenFromCookieHeader(header, req.cookieName, maxChunks);
    if (token === null) throw new Error("no session cookie");
    const s = openSession(token, base);
    out.open.push({
      ok: true, data: s.data, id: s.id, subject: s.subject, flashes: s.flashes,
      browserOnly: s.browserOnly, lifetimeSeconds: s.lifetimeSeconds, started: s.started.getTime(),
    });
  } catch (e) {
    out.open.push({ ok: false, error: String(e.message ?? e) });
  }
}
for (const s of req.seal ?? []) {
  const opts = { ...base };
  for (const k of ["kid", "cookieName", "audience", "exp", "iat", "nbf"]) {
    if (s[k] !== undefined) opts[k] = s[k];
  }
  out.seal.push(sealSession(s.session, opts));
}
for (const k of req.ids ?? []) out.ids.push(keyId(k));
for (const a of req.assertions ?? []) out.assertions.push(Buffer.from(implicitAssertion(a.cookieName, a.audience)).toString("hex"));
process.stdout.write(JSON.stringify(out));
