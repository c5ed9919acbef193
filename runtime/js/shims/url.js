// Node's legacy url.parse/format on top of the realm's WHATWG URL.
const querystring = require('./querystring.js');
function parse(href, parseQuery) {
  const u = new globalThis.URL(href);
  const search = u.search;
  return {
    href: u.href,
    protocol: u.protocol,
    slashes: true,
    auth: u.username
      ? decodeURIComponent(u.username) + (u.password ? ':' + decodeURIComponent(u.password) : '')
      : null,
    host: u.host,
    port: u.port || null,
    hostname: u.hostname,
    hash: u.hash || null,
    search: search || null,
    query: parseQuery ? querystring.parse(search.slice(1)) : search.slice(1) || null,
    pathname: u.pathname,
    path: u.pathname + search,
  };
}
function format(o) {
  if (typeof o === 'string') return o;
  if (o instanceof globalThis.URL) return o.href;
  const search =
    o.search ||
    (o.query && typeof o.query === 'object' ? '?' + querystring.stringify(o.query) : '');
  const host = o.host || (o.hostname ? o.hostname + (o.port ? ':' + o.port : '') : '');
  return (
    (o.protocol || 'http:') +
    '//' +
    (o.auth ? o.auth + '@' : '') +
    host +
    (o.pathname || '/') +
    search +
    (o.hash || '')
  );
}
module.exports = {
  parse,
  format,
  resolve: (from, to) => new globalThis.URL(to, from).href,
  URL: globalThis.URL,
  URLSearchParams: globalThis.URLSearchParams,
};
