// An axios adapter on the realm's fetch, for the SDKs built on axios (SendGrid,
// Twilio, Mailjet...): their requests then go through the egress policy, limits and
// traces like the function's own fetches. axios's own fetch adapter needs web
// classes the realm does not have (AbortController, ReadableStream).
module.exports = function fetchAdapterFor(axios) {
  const { AxiosError, AxiosHeaders } = axios;

  function requestHeaders(config) {
    const out = [];
    const plain = config.headers ? AxiosHeaders.from(config.headers).toJSON() : {};
    for (const name of Object.keys(plain)) {
      const value = plain[name];
      if (value === undefined || value === null || value === false) continue;
      if (Array.isArray(value)) for (const v of value) out.push([name, String(v)]);
      else out.push([name, String(value)]);
    }
    if (config.auth && !out.some(([n]) => n.toLowerCase() === 'authorization')) {
      const { username = '', password = '' } = config.auth;
      const token = globalThis.Buffer.from(username + ':' + password).toString('base64');
      out.push(['Authorization', 'Basic ' + token]);
    }
    return out;
  }

  return function fetchAdapter(config) {
    return new Promise((resolve, reject) => {
      const url = axios.getUri(config);
      const method = String(config.method || 'get').toUpperCase();
      const request = { method, url, headers: requestHeaders(config) };
      const init = {
        method,
        headers: request.headers,
        redirect: config.maxRedirects === 0 ? 'manual' : 'follow',
      };
      const data = config.data;
      if (data !== undefined && data !== null && method !== 'GET' && method !== 'HEAD') {
        init.body = data;
      }
      let done = false;
      let timer = null;
      const finish = (fn, value) => {
        if (done) return;
        done = true;
        if (timer !== null) globalThis.clearTimeout(timer);
        fn(value);
      };
      if (config.timeout > 0) {
        timer = globalThis.setTimeout(() => {
          const transitional = config.transitional || {};
          const code = transitional.clarifyTimeoutError ? 'ETIMEDOUT' : 'ECONNABORTED';
          finish(
            reject,
            new AxiosError(`timeout of ${config.timeout}ms exceeded`, code, config, request),
          );
        }, config.timeout);
      }
      if (config.cancelToken && typeof config.cancelToken.subscribe === 'function') {
        config.cancelToken.subscribe((reason) => finish(reject, reason));
      }
      let pending;
      try {
        pending = globalThis.fetch(url, init);
      } catch (e) {
        pending = Promise.reject(e);
      }
      pending
        .then(async (res) => {
          const bytes = globalThis.Buffer.from(await res.arrayBuffer());
          const headers = {};
          const raw = res.headers.raw();
          for (const name of Object.keys(raw)) {
            headers[name] = name === 'set-cookie' ? raw[name].slice() : raw[name].join(', ');
          }
          const type = config.responseType;
          const body =
            type === 'arraybuffer'
              ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)
              : bytes.toString('utf8');
          const response = {
            data: body,
            status: res.status,
            statusText: res.statusText,
            headers: AxiosHeaders.from(headers),
            config,
            request,
          };
          const validate = config.validateStatus;
          if (!response.status || !validate || validate(response.status)) {
            finish(resolve, response);
          } else {
            const code =
              response.status >= 400 && response.status < 500
                ? AxiosError.ERR_BAD_REQUEST
                : AxiosError.ERR_BAD_RESPONSE;
            finish(
              reject,
              new AxiosError(
                'Request failed with status code ' + response.status,
                code,
                config,
                request,
                response,
              ),
            );
          }
        })
        .catch((err) => {
          const error = new AxiosError(
            err && err.message ? err.message : 'Network Error',
            AxiosError.ERR_NETWORK,
            config,
            request,
          );
          error.cause = err;
          finish(reject, error);
        });
    });
  };
};
