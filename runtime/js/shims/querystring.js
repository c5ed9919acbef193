// biome-ignore lint/suspicious/noShadowRestrictedNames: Node's querystring API has escape and unescape
const escape = (s) =>
  encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
// biome-ignore lint/suspicious/noShadowRestrictedNames: see escape
const unescape = (s) => {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch (_) {
    return s;
  }
};
function stringify(obj, sep = '&', eq = '=') {
  if (!obj || typeof obj !== 'object') return '';
  return Object.keys(obj)
    .map((k) => {
      const v = obj[k];
      if (Array.isArray(v)) return v.map((x) => escape(k) + eq + escape(String(x))).join(sep);
      return escape(k) + eq + escape(v === undefined || v === null ? '' : String(v));
    })
    .join(sep);
}
function parse(str, sep = '&', eq = '=') {
  const out = {};
  if (typeof str !== 'string' || str === '') return out;
  for (const part of str.split(sep)) {
    if (!part) continue;
    const i = part.indexOf(eq);
    const k = unescape(i === -1 ? part : part.slice(0, i));
    const v = i === -1 ? '' : unescape(part.slice(i + 1));
    if (k in out) out[k] = [].concat(out[k], v);
    else out[k] = v;
  }
  return out;
}
module.exports = { stringify, parse, escape, unescape, encode: stringify, decode: parse };
