/* WebCrypto for the device: the PIN-wrapped data key, boxes under it, and sealing to the server's outbox key.
 * Exports and rules: docs/pwa.md, "Modules". */
const subtle = crypto.subtle;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class WrongPin extends Error {}

export function b64url(bytes) {
  let s = '';
  const view = new Uint8Array(bytes);
  for (let i = 0; i < view.length; i += 0x8000) s += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_');
}

export function fromB64url(text) {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function pinKey(pin, salt, iterations) {
  const base = await subtle.importKey('raw', encoder.encode(pin), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base,
    { name: 'AES-GCM', length: 256 }, false, ['wrapKey', 'unwrapKey']);
}

const AES = { name: 'AES-GCM', length: 256 };

function unwrap(lock, key) {
  return subtle.unwrapKey('raw', lock.wrapped, key, { name: 'AES-GCM', iv: lock.iv }, AES, false,
    ['encrypt', 'decrypt']);
}

export async function createLock(pin, iterations) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await pinKey(pin, salt, iterations);
  const fresh = await subtle.generateKey(AES, true, ['encrypt', 'decrypt']);
  const wrapped = await subtle.wrapKey('raw', fresh, key, { name: 'AES-GCM', iv });
  const lock = { salt, iv, wrapped, iterations, kdf: 'PBKDF2-SHA256' };
  // Keep only a non-extractable copy in memory.
  return { lock, dataKey: await unwrap(lock, key) };
}

export async function openLock(lock, pin) {
  const key = await pinKey(pin, lock.salt, lock.iterations);
  try {
    return await unwrap(lock, key);
  } catch (e) {
    throw new WrongPin('wrong pin');
  }
}

export async function encryptJSON(key, value, aad) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(aad) }, key,
    encoder.encode(JSON.stringify(value)));
  return { iv, ct };
}

export async function decryptJSON(key, box, aad) {
  const plain = await subtle.decrypt({ name: 'AES-GCM', iv: box.iv, additionalData: encoder.encode(aad) },
    key, box.ct);
  return JSON.parse(decoder.decode(plain));
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' };

/** An ephemeral key pair (private half not extractable) → AES key = HKDF(ECDH with the server), epk. */
async function ephemeralKey(jwk, info) {
  const server = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
    ECDH, false, []);
  const pair = await subtle.generateKey(ECDH, false, ['deriveBits']);
  const shared = await subtle.deriveBits({ name: 'ECDH', public: server }, pair.privateKey, 256);
  const ikm = await subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const key = await subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(info) }, ikm, AES, false, ['encrypt']);
  return { key, epk: new Uint8Array(await subtle.exportKey('raw', pair.publicKey)) };
}

async function gcm(key, id, plain) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(id) }, key,
    plain));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out;
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export async function seal(event, jwk) {
  const { key, epk } = await ephemeralKey(jwk, 'hemvard-outbox-v1');
  return b64url(concat(epk, await gcm(key, event.id, encoder.encode(JSON.stringify(event)))));
}

// v2 needs CompressionStream('deflate-raw') (Chromium 103+, Firefox 113+, Safari 16.4+); older: v1.
const V2 = (() => {
  try { return Boolean(new CompressionStream('deflate-raw')); } catch (e) { return false; }
})();
let sealer = null; // the unlocked session's Promise<{kid, key, epk}>, in memory only

async function deflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Called at unlock: a fresh session key for the server's outbox key ({kid, jwk}). */
export function openSealer(outboxKey) {
  if (!V2 || !outboxKey) return null;
  const made = ephemeralKey(outboxKey.jwk, 'hemvard-outbox-v2')
    .then(({ key, epk }) => ({ kid: outboxKey.kid, key, epk: b64url(epk) }));
  sealer = made;
  made.catch(() => { if (sealer === made) sealer = null; });
  return made;
}

/** Called at lock, log out and wipe: what was sealed can no longer be opened on the phone. */
export function closeSealer() {
  sealer = null;
}

export async function sealEvent(event, outboxKey) {
  if (!V2) return { sealed: await seal(event, outboxKey.jwk) };
  let s = sealer && await sealer.catch(() => null);
  if (!s || s.kid !== outboxKey.kid) s = await openSealer(outboxKey);
  const { id, ...rest } = event;
  const packed = await deflateRaw(encoder.encode(JSON.stringify(rest)));
  return { sealed: b64url(await gcm(s.key, id, packed)), epk: s.epk };
}
