'use strict';
// Crypto on the host, for the prelude's `crypto` (prelude/80-crypto.js): digests,
// HMACs, random bytes, keys, signatures. Strings in (base64 data, PEM keys),
// strings out; a failure is answered as text ('!' + message), never thrown.
//
// Rules kept here: inputs are capped (MAX_CRYPTO_INPUT of data, 64 KB keys, 64 KB of
// random bytes), and so is native work. Native crypto work cannot be interrupted by
// the vm timeout, so keys are vetted before OpenSSL sees them: encrypted PKCS#8 keys
// whose key derivation is too costly (PBKDF2 with 2^31 iterations runs for minutes)
// are refused, and so are key sizes that make one signature or verification slow.
const nodeCrypto = require('node:crypto');
const { own, str, num } = require('./checks');

const MAX_CRYPTO_INPUT = 16 * 1024 * 1024;

const ENCODINGS = new Set(['hex', 'base64', 'base64url', 'latin1', 'binary']);
function digest(alg, keyB64, dataB64, enc) {
  if (!str(alg) || !str(dataB64) || !str(enc) || !ENCODINGS.has(enc)) return -1;
  if (dataB64.length > MAX_CRYPTO_INPUT) return -1;
  try {
    const data = Buffer.from(dataB64, 'base64');
    const h =
      keyB64 === null
        ? nodeCrypto.createHash(alg)
        : nodeCrypto.createHmac(alg, Buffer.from(str(keyB64) ? keyB64 : '', 'base64'));
    return h.update(data).digest(enc);
  } catch (err) {
    return '!' + String(err.message);
  }
}

function randomBytes(n) {
  if (!num(n) || n < 0 || n > 65536) return -1;
  return nodeCrypto.randomBytes(Math.floor(n)).toString('base64');
}

function randomUUID() {
  return nodeCrypto.randomUUID();
}

// Key vetting (see the rules above).
const MAX_KDF_ITERATIONS = 1000000;
const MAX_SCRYPT_BYTES = 64 * 1024 * 1024; // 128 * N * r
const MAX_SCRYPT_PARALLEL = 16;
const MAX_MODULUS_BITS = 8192; // RSA, RSA-PSS
const MAX_PUBLIC_EXPONENT = 2n ** 32n;
// DSA and Diffie-Hellman keys are refused from their encoding, before OpenSSL loads
// them: loading one with a huge prime ran OpenSSL's computation (before any size
// check could be made on the loaded key) and hung the worker; no destination needs
// them. Every key block is also bounded in size: an 8192-bit RSA private key is
// about 4.7 KB of DER, so an encrypted one (whose algorithm cannot be read before
// OpenSSL decrypts it) may not be larger than 5 KB; other blocks (certificates
// too) 16 KB.
const KEY_TYPES = new Set(['rsa', 'rsa-pss', 'ec', 'ed25519', 'ed448', 'x25519', 'x448']);
const MAX_ENCRYPTED_KEY_DER_BYTES = 5 * 1024;
const MAX_KEY_DER_BYTES = 16 * 1024;
const REFUSED_KEY_OIDS = new Map([
  ['2a8648ce380401', 'DSA'], // id-dsa
  ['2a864886f70d010301', 'Diffie-Hellman'], // dhKeyAgreement
  ['2a8648ce3e0201', 'Diffie-Hellman'], // dhpublicnumber (X9.42)
]);
const REFUSED_KEY_LABELS = [
  ['DSA', 'DSA'],
  ['DH PARAMETERS', 'Diffie-Hellman'],
];
const OID_PBES2 = '2a864886f70d01050d';
const OID_PBKDF2 = '2a864886f70d01050c';
const OID_SCRYPT = '2b06010401da47040b';

// One DER element at `pos`: [tag, contentStart, contentEnd]; throws when malformed.
function derAt(buf, pos, limit) {
  if (pos + 2 > limit) throw new Error('truncated');
  const tag = buf[pos];
  let len = buf[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  if (start + len > limit) throw new Error('truncated');
  return [tag, start, start + len];
}
function derChildren(buf, el) {
  const out = [];
  for (let pos = el[1]; pos < el[2]; ) {
    const c = derAt(buf, pos, el[2]);
    out.push(c);
    pos = c[2];
  }
  return out;
}
function derInt(buf, el) {
  // a small non-negative INTEGER, or Infinity
  if (el[0] !== 0x02 || el[2] === el[1] || buf[el[1]] & 0x80) throw new Error('bad integer');
  let start = el[1];
  while (start < el[2] - 1 && buf[start] === 0) start++;
  if (el[2] - start > 6) return Infinity;
  let v = 0;
  for (let i = start; i < el[2]; i++) v = v * 256 + buf[i];
  return v;
}
const hex = (buf, el) => buf.toString('hex', el[1], el[2]);

// Refuses (throws) an EncryptedPrivateKeyInfo whose key derivation is too costly.
function vetEncryptedKey(der) {
  const top = derAt(der, 0, der.length);
  const parts = top[0] === 0x30 ? derChildren(der, top) : [];
  if (parts.length !== 2 || parts[0][0] !== 0x30 || parts[1][0] !== 0x04) return false;
  const alg = derChildren(der, parts[0]);
  if (alg.length !== 2 || alg[0][0] !== 0x06 || alg[1][0] !== 0x30)
    throw new Error('bad algorithm');
  const params = derChildren(der, alg[1]);
  if (hex(der, alg[0]) !== OID_PBES2) {
    // PBES1 and PKCS#12 schemes: SEQUENCE { salt, iterations }
    if (params.length !== 2 || derInt(der, params[1]) > MAX_KDF_ITERATIONS) {
      throw new Error('key derivation too costly');
    }
    return true;
  }
  const kdf = params.length === 2 && params[0][0] === 0x30 ? derChildren(der, params[0]) : [];
  if (kdf.length !== 2 || kdf[0][0] !== 0x06 || kdf[1][0] !== 0x30) throw new Error('bad kdf');
  const kp = derChildren(der, kdf[1]);
  const oid = hex(der, kdf[0]);
  if (oid === OID_PBKDF2) {
    if (kp.length < 2 || derInt(der, kp[1]) > MAX_KDF_ITERATIONS) {
      throw new Error('key derivation too costly');
    }
  } else if (oid === OID_SCRYPT) {
    if (kp.length < 4) throw new Error('bad scrypt parameters');
    const n = derInt(der, kp[1]);
    const r = derInt(der, kp[2]);
    const p = derInt(der, kp[3]);
    if (
      128 * n * r > MAX_SCRYPT_BYTES ||
      p > MAX_SCRYPT_PARALLEL ||
      128 * n * r * p > MAX_SCRYPT_BYTES * 4
    ) {
      throw new Error('key derivation too costly');
    }
  } else {
    throw new Error('unsupported key derivation');
  }
  return true;
}

// The algorithm of a PKCS#8 PrivateKeyInfo or SubjectPublicKeyInfo (its OID, hex),
// or null when `der` is neither.
function keyAlgorithm(der) {
  const top = derAt(der, 0, der.length);
  if (top[0] !== 0x30) return null;
  for (const part of derChildren(der, top).slice(0, 2)) {
    if (part[0] !== 0x30) continue;
    const alg = derChildren(der, part);
    if (alg.length > 0 && alg[0][0] === 0x06) return hex(der, alg[0]);
  }
  return null;
}

function refuseKeyType(name) {
  throw new Error(`${name} keys are not supported; use RSA, EC or Ed25519 keys`);
}

// Every PEM block of `text` (linear scan, no pattern): bounded in size, DSA and
// Diffie-Hellman refused, and vetted when encrypted.
function vetKeyText(text) {
  let pos = 0;
  for (;;) {
    const begin = text.indexOf('-----BEGIN ', pos);
    if (begin === -1) return;
    const labelEnd = text.indexOf('-----', begin + 11);
    if (labelEnd === -1) return;
    const end = text.indexOf('-----END ', labelEnd + 5);
    if (end === -1) return;
    const label = text.slice(begin + 11, labelEnd);
    for (const [word, name] of REFUSED_KEY_LABELS)
      if (label.indexOf(word) !== -1) refuseKeyType(name);
    const body = text
      .slice(labelEnd + 5, end)
      .split('\n')
      .filter((l) => l.indexOf(':') === -1)
      .join('');
    const der = Buffer.from(body, 'base64');
    const encryptedBlock = label.indexOf('ENCRYPTED') !== -1;
    if (der.length > (encryptedBlock ? MAX_ENCRYPTED_KEY_DER_BYTES : MAX_KEY_DER_BYTES)) {
      throw new Error('key too large');
    }
    let algorithm = null;
    try {
      algorithm = keyAlgorithm(der);
    } catch (_) {
      algorithm = null; // not DER we can read: OpenSSL decides
    }
    if (algorithm !== null && REFUSED_KEY_OIDS.has(algorithm)) {
      refuseKeyType(REFUSED_KEY_OIDS.get(algorithm));
    }
    let encrypted = false;
    try {
      encrypted = vetEncryptedKey(der);
    } catch (err) {
      if (err.message === 'key derivation too costly') throw err;
      if (encryptedBlock) throw new Error('unsupported encrypted key');
    }
    if (!encrypted && label.indexOf('ENCRYPTED PRIVATE KEY') !== -1) {
      throw new Error('unsupported encrypted key');
    }
    pos = end + 9;
  }
}

function vetKeyObject(key) {
  if (!KEY_TYPES.has(key.asymmetricKeyType)) throw new Error('unsupported key type');
  const d = key.asymmetricKeyDetails || {};
  if (typeof d.modulusLength === 'number' && d.modulusLength > MAX_MODULUS_BITS) {
    throw new Error(`keys larger than ${MAX_MODULUS_BITS} bits are not supported`);
  }
  if (typeof d.publicExponent === 'bigint' && d.publicExponent > MAX_PUBLIC_EXPONENT) {
    throw new Error('public exponent too large');
  }
  if (key.asymmetricKeyType === 'ec' && typeof d.namedCurve !== 'string') {
    throw new Error('only named curves are supported');
  }
  return key;
}

// A vetted KeyObject (throws with a message for the function otherwise).
function loadKey(kind, text, passphrase) {
  vetKeyText(text);
  const options = { key: text, format: 'pem' };
  if (passphrase) options.passphrase = passphrase;
  return vetKeyObject(
    kind === 'private' ? nodeCrypto.createPrivateKey(options) : nodeCrypto.createPublicKey(options),
  );
}

function keyInfo(kind, text, passphrase) {
  if (!str(kind) || !str(text) || !str(passphrase) || text.length > 65536) return -1;
  try {
    const key = loadKey(kind, text, passphrase);
    const details = {};
    for (const [k, v] of Object.entries(key.asymmetricKeyDetails || {})) {
      details[k] = typeof v === 'bigint' ? Number(v) : v;
    }
    const pem =
      key.type === 'private'
        ? key.export({ format: 'pem', type: 'pkcs8' })
        : key.export({ format: 'pem', type: 'spki' });
    return JSON.stringify({
      type: key.type,
      asymmetricKeyType: key.asymmetricKeyType,
      details,
      pem,
    });
  } catch (err) {
    return '!' + String(err.message);
  }
}

function signOrVerify(alg, spec, dataB64, sigB64) {
  if (!str(alg) || !str(spec) || !str(dataB64) || dataB64.length > MAX_CRYPTO_INPUT) return -1;
  try {
    const s = JSON.parse(spec);
    const text = String(own(s, 'key'));
    if (text.length > 65536) return '!key too large';
    const key = { key: loadKey(sigB64 === undefined ? 'private' : 'public', text, '') };
    const padding = own(s, 'padding');
    const saltLength = own(s, 'saltLength');
    const dsaEncoding = own(s, 'dsaEncoding');
    if (typeof padding === 'number') key.padding = padding;
    if (typeof saltLength === 'number') key.saltLength = saltLength;
    if (dsaEncoding === 'der' || dsaEncoding === 'ieee-p1363') key.dsaEncoding = dsaEncoding;
    const data = Buffer.from(dataB64, 'base64');
    if (sigB64 === undefined) {
      return nodeCrypto.createSign(alg).update(data).sign(key, 'base64');
    }
    if (!str(sigB64)) return -1;
    return nodeCrypto.createVerify(alg).update(data).verify(key, Buffer.from(sigB64, 'base64'))
      ? '1'
      : '0';
  } catch (err) {
    return '!' + String(err.message);
  }
}

module.exports = { digest, randomBytes, randomUUID, keyInfo, signOrVerify };
