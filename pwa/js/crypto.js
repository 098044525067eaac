/* WebCrypto for the device: the PIN-wrapped data key, boxes under it, and sealing to the server's outbox key.
 *
 * Exports:
 *   createLock(pin, iterations) → {lock, dataKey}   new random AES-GCM-256 data key wrapped by PBKDF2(PIN)
 *   openLock(lock, pin) → dataKey                   throws WrongPin when the PIN does not unwrap it
 *   encryptJSON(key, value, aad) → {iv, ct}         decryptJSON(key, box, aad) → value
 *   seal(event, jwk) → base64url(epk ‖ iv ‖ ct)     ECDH P-256 + HKDF-SHA256 + AES-GCM (docs/protocol.md)
 *   b64url(bytes), fromB64url(text)
 */
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

export async function seal(event, jwk) {
  const server = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
    { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const ephemeral = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
  const shared = await subtle.deriveBits({ name: 'ECDH', public: server }, ephemeral.privateKey, 256);
  const ikm = await subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const key = await subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode('hemvard-outbox-v1') },
    ikm, AES, false, ['encrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(event.id) },
    key, encoder.encode(JSON.stringify(event))));
  const epk = new Uint8Array(await subtle.exportKey('raw', ephemeral.publicKey));
  const out = new Uint8Array(epk.length + iv.length + ct.length);
  out.set(epk, 0);
  out.set(iv, epk.length);
  out.set(ct, epk.length + iv.length);
  return b64url(out);
}
