// The globals and modules a PostHog plugin-server plugin expects, inside bare V8.
//
// Everything with a side effect (storage, cache, fetch, console, posthog.capture) is a
// message to the Python host through one function, `notify('[[id, op, payload], ...]')`.
// Requests (id > 0) come back through `settle('[id, ok, result]')`; other messages
// (console, "done" at the end of a hook call) are one-way, and console lines wait in
// an outbox for the next crossing. Every crossing carries one JSON string because
// mini-racer charges a thread round trip per value it touches.
// Installed once per isolate by plugin/jsengine/engine.py.
(function installSandbox(global) {
  "use strict";

  const realNow = Date.now;
  const RealDate = Date;
  const hooks = {};
  const pending = new Map();
  let notify = null;
  let nextId = 1;
  let frozenNow = null;
  let currentCall = 0;
  // When JavaScript was last entered from the host: loop guards measure from here.
  let turnStart = realNow();
  let loopLimitSeconds = 30;
  let meta = null;
  let pluginExports = {};

  // ---- talking to the host -------------------------------------------------------
  let outbox = [];

  function flush(message) {
    outbox.push(message);
    const batch = outbox;
    outbox = [];
    notify(JSON.stringify(batch));
  }

  function request(op, payload) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, call: currentCall });
      flush([id, op, Object.assign({ call: currentCall }, payload)]);
    });
  }

  function send(op, payload) {
    flush([0, op, Object.assign({ call: currentCall }, payload)]);
  }

  function post(op, payload) {
    outbox.push([0, op, Object.assign({ call: currentCall }, payload)]);
  }

  // Console lines still in the outbox, for a call the host gave up on.
  hooks.drain = () => {
    const batch = outbox;
    outbox = [];
    return JSON.stringify(batch);
  };

  function errorFromHost(info) {
    const Native = { TypeError, RangeError, SyntaxError }[info.name];
    if (Native) return new Native(info.message);
    if (info.name === "FetchError") return new FetchError(info.message, "system");
    const error = new Error(info.message);
    error.name = info.name;
    return error;
  }

  hooks.settle = function settle(messageJson) {
    turnStart = realNow();
    const [id, ok, result] = JSON.parse(messageJson);
    const entry = pending.get(id);
    if (entry === undefined) return;
    pending.delete(id);
    currentCall = entry.call;
    if (ok) entry.resolve(result.value);
    else entry.reject(errorFromHost(result));
  };

  // ---- time and loop guards --------------------------------------------------------
  function now() {
    return frozenNow === null ? realNow() : frozenNow;
  }

  const FrozenAwareDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return args.length === 0 ? Reflect.construct(target, [now()], newTarget) : Reflect.construct(target, args, newTarget);
    },
    apply() {
      return new RealDate(now()).toString();
    },
    get(target, key) {
      return key === "now" ? now : Reflect.get(target, key);
    },
  });
  global.Date = FrozenAwareDate;

  // Called at the top of every loop body by the transform in typescript.py, as the
  // plugin-server's loop-timeout transform does.
  global.__loopGuard = function loopGuard(line, column) {
    if (realNow() - turnStart > loopLimitSeconds * 1000) {
      const unit = loopLimitSeconds === 1 ? "second" : "seconds";
      throw new Error(`Script execution timed out after looping for ${loopLimitSeconds} ${unit} on line ${line}:${column}`);
    }
  };

  // ---- console -----------------------------------------------------------------------
  function formatArgument(value) {
    let text;
    try {
      text = String(value);
    } catch (e) {
      text = "[object Object]";
    }
    if (text === "[object Object]" || Array.isArray(value)) {
      try {
        const json = JSON.stringify(value);
        if (json !== undefined) return json;
      } catch (e) {
        // circular or BigInt: keep String()
      }
    }
    return text;
  }

  function logger(level) {
    return (...args) => post("console", { level, message: args.map(formatArgument).join(" ") });
  }

  global.console = {
    debug: logger("debug"),
    log: logger("log"),
    info: logger("info"),
    warn: logger("warn"),
    error: logger("error"),
  };

  // ---- Buffer ------------------------------------------------------------------------
  const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  function utf8Encode(text) {
    const bytes = [];
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        }
      }
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // a lone surrogate
      if (code < 0x80) bytes.push(code);
      else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
      else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
      else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    }
    return bytes;
  }

  function utf8Decode(bytes) {
    let out = "";
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      let need = 0;
      let code = 0;
      let lower = 0x80;
      let upper = 0xbf;
      if (b < 0x80) { out += String.fromCharCode(b); i++; continue; }
      if (b >= 0xc2 && b <= 0xdf) { need = 1; code = b & 0x1f; }
      else if (b >= 0xe0 && b <= 0xef) { need = 2; code = b & 0x0f; if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; }
      else if (b >= 0xf0 && b <= 0xf4) { need = 3; code = b & 0x07; if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; }
      else { out += "\ufffd"; i++; continue; }
      let j = 1;
      for (; j <= need; j++) {
        const c = bytes[i + j];
        if (c === undefined || c < lower || c > upper) break;
        lower = 0x80;
        upper = 0xbf;
        code = (code << 6) | (c & 0x3f);
      }
      if (j <= need) { out += "\ufffd"; i += j; continue; } // maximal subpart, as WHATWG decoders do
      out += String.fromCodePoint(code);
      i += need + 1;
    }
    return out;
  }

  function base64Encode(bytes, alphabet, pad) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63];
      out += i + 1 < bytes.length ? alphabet[(n >> 6) & 63] : pad;
      out += i + 2 < bytes.length ? alphabet[n & 63] : pad;
    }
    return out;
  }

  function base64Decode(text) {
    const bytes = [];
    let bits = 0;
    let value = 0;
    for (const ch of text.replace(/-/g, "+").replace(/_/g, "/")) {
      const index = BASE64.indexOf(ch);
      if (ch === "=") break;
      if (index < 0) continue; // Node skips characters outside the alphabet
      value = (value << 6) | index;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes.push((value >> bits) & 0xff);
      }
    }
    return bytes;
  }

  function normalizeEncoding(encoding) {
    const name = String(encoding === undefined ? "utf8" : encoding).toLowerCase();
    const known = { "utf8": "utf8", "utf-8": "utf8", "base64": "base64", "base64url": "base64url", "hex": "hex",
      "latin1": "latin1", "binary": "latin1", "ascii": "ascii" };
    if (!(name in known)) throw new TypeError(`Unknown encoding: ${encoding}`);
    return known[name];
  }

  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === "string") {
        const encoding = normalizeEncoding(encodingOrOffset);
        let bytes;
        if (encoding === "utf8") bytes = utf8Encode(value);
        else if (encoding === "base64" || encoding === "base64url") bytes = base64Decode(value);
        else if (encoding === "hex") {
          bytes = [];
          for (let i = 0; i + 1 < value.length; i += 2) {
            const byte = parseInt(value.slice(i, i + 2), 16);
            if (Number.isNaN(byte)) break;
            bytes.push(byte);
          }
        } else bytes = Array.from(value, (c) => c.charCodeAt(0) & 0xff);
        return new Buffer(bytes);
      }
      if (value instanceof ArrayBuffer) return new Buffer(value, encodingOrOffset || 0, length);
      if (value && (ArrayBuffer.isView(value) || Array.isArray(value))) return new Buffer(Array.from(value));
      if (value && value.type === "Buffer" && Array.isArray(value.data)) return new Buffer(value.data);
      throw new TypeError("The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.");
    }

    static alloc(size, fill) {
      const buffer = new Buffer(size);
      if (fill !== undefined) buffer.fill(typeof fill === "string" ? fill.charCodeAt(0) : fill);
      return buffer;
    }

    static isBuffer(value) {
      return value instanceof Buffer;
    }

    static byteLength(value, encoding) {
      return typeof value === "string" ? Buffer.from(value, encoding).length : value.byteLength;
    }

    static concat(list, totalLength) {
      const total = totalLength === undefined ? list.reduce((n, b) => n + b.length, 0) : totalLength;
      const out = Buffer.alloc(total);
      let offset = 0;
      for (const item of list) {
        out.set(item.subarray(0, Math.max(0, total - offset)), offset);
        offset += item.length;
        if (offset >= total) break;
      }
      return out;
    }

    toString(encoding, start, end) {
      const bytes = this.subarray(start || 0, end === undefined ? this.length : end);
      switch (normalizeEncoding(encoding)) {
        case "utf8": return utf8Decode(bytes);
        case "base64": return base64Encode(bytes, BASE64, "=");
        case "base64url": return base64Encode(bytes, BASE64.slice(0, 62) + "-_", "");
        case "hex": return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
        case "ascii": return Array.from(bytes, (b) => String.fromCharCode(b & 0x7f)).join("");
        default: return Array.from(bytes, (b) => String.fromCharCode(b)).join("");
      }
    }

    toJSON() {
      return { type: "Buffer", data: Array.from(this) };
    }

    equals(other) {
      return this.length === other.length && this.every((b, i) => b === other[i]);
    }
  }
  global.Buffer = Buffer;
  global.btoa = (text) => {
    const bytes = Array.from(String(text), (c) => {
      const code = c.charCodeAt(0);
      if (code > 255) throw new Error("Invalid character");
      return code;
    });
    return base64Encode(bytes, BASE64, "=");
  };
  global.atob = (text) => String.fromCharCode(...base64Decode(String(text)));

  // ---- URL (WHATWG, for the special schemes plugins use) -----------------------------------
  const DEFAULT_PORTS = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21" };

  function percentEncode(text, keep) {
    let out = "";
    for (const ch of text) {
      if (ch === "%" || keep.test(ch)) out += ch;
      else out += utf8Encode(ch).map((b) => "%" + b.toString(16).toUpperCase().padStart(2, "0")).join("");
    }
    return out;
  }

  function resolvePath(path) {
    const out = [];
    const segments = path.split("/").slice(1);
    segments.forEach((segment, i) => {
      const lower = segment.toLowerCase();
      const last = i === segments.length - 1;
      if (segment === ".." || lower === ".%2e" || lower === "%2e." || lower === "%2e%2e") {
        out.pop();
        if (last) out.push("");
      } else if (segment === "." || lower === "%2e") {
        if (last) out.push("");
      } else out.push(segment);
    });
    return "/" + out.join("/");
  }

  class URLSearchParams {
    constructor(init) {
      this._pairs = [];
      const text = typeof init === "string" ? init.replace(/^\?/, "") : "";
      if (text) {
        for (const part of text.split("&")) {
          if (!part) continue;
          const at = part.indexOf("=");
          const decode = (s) => decodeURIComponent(s.replace(/\+/g, " "));
          this._pairs.push(at < 0 ? [decode(part), ""] : [decode(part.slice(0, at)), decode(part.slice(at + 1))]);
        }
      } else if (init && typeof init === "object") {
        for (const [k, v] of Array.isArray(init) ? init : Object.entries(init)) this._pairs.push([String(k), String(v)]);
      }
    }
    get(name) { const pair = this._pairs.find(([k]) => k === name); return pair ? pair[1] : null; }
    getAll(name) { return this._pairs.filter(([k]) => k === name).map(([, v]) => v); }
    has(name) { return this._pairs.some(([k]) => k === name); }
    append(name, value) { this._pairs.push([String(name), String(value)]); }
    set(name, value) { this.delete(name); this.append(name, value); }
    delete(name) { this._pairs = this._pairs.filter(([k]) => k !== name); }
    forEach(fn) { this._pairs.forEach(([k, v]) => fn(v, k, this)); }
    entries() { return this._pairs.map((p) => p.slice())[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() {
      const encode = (s) => encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
      return this._pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&");
    }
  }

  class URL {
    constructor(input, base) {
      let text = String(input).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "");
      let match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text);
      if (!match) {
        if (base === undefined) throw new TypeError("Invalid URL");
        const parent = new URL(base);
        if (text.startsWith("//")) text = parent.protocol + text;
        else if (text.startsWith("/")) text = parent.origin + text;
        else if (text.startsWith("?")) text = parent.origin + parent.pathname + text;
        else if (text.startsWith("#")) text = parent.origin + parent.pathname + parent.search + text;
        else text = parent.origin + parent.pathname.replace(/[^/]*$/, "") + text;
        match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text);
      }
      const protocol = match[1].toLowerCase() + ":";
      if (!(protocol in DEFAULT_PORTS)) throw new TypeError("Invalid URL");
      let rest = text.slice(match[0].length).replace(/\\/g, "/").replace(/^\/*/, "");
      const authorityEnd = rest.search(/[/?#]/);
      const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
      rest = authorityEnd < 0 ? "" : rest.slice(authorityEnd);
      const at = authority.lastIndexOf("@");
      const userinfo = at < 0 ? "" : authority.slice(0, at);
      const hostport = at < 0 ? authority : authority.slice(at + 1);
      const portMatch = /:(\d*)$/.exec(hostport);
      const host = (portMatch ? hostport.slice(0, portMatch.index) : hostport).toLowerCase();
      if (!host || /[\u0000\t\n\r #/:<>?@[\\\]^|%]/.test(host.replace(/^\[.*\]$/, "x"))) throw new TypeError("Invalid URL");
      if (/[^\u0000-\u007f]/.test(host)) throw new TypeError("Invalid URL"); // IDNA is not emulated here
      let port = portMatch ? portMatch[1].replace(/^0+(?=\d)/, "") : "";
      if (port && Number(port) > 65535) throw new TypeError("Invalid URL");
      if (port === DEFAULT_PORTS[protocol]) port = "";
      const hashAt = rest.indexOf("#");
      const hash = hashAt < 0 ? "" : rest.slice(hashAt);
      if (hashAt >= 0) rest = rest.slice(0, hashAt);
      const queryAt = rest.indexOf("?");
      const search = queryAt < 0 ? "" : rest.slice(queryAt);
      const path = queryAt < 0 ? rest : rest.slice(0, queryAt);
      const colon = userinfo.indexOf(":");
      this.protocol = protocol;
      this.username = percentEncode(colon < 0 ? userinfo : userinfo.slice(0, colon), /[A-Za-z0-9\-._~!$&'()*+,;=]/);
      this.password = colon < 0 ? "" : percentEncode(userinfo.slice(colon + 1), /[A-Za-z0-9\-._~!$&'()*+,;=]/);
      this.hostname = host;
      this.port = port;
      this.pathname = resolvePath(percentEncode(path || "/", /[^\u0000-\u0020"#<>?`{}\u007f-\uffff]/));
      this.search = search.length > 1 ? percentEncode(search, /[^\u0000-\u0020"#<>'\u007f-\uffff]/) : "";
      this.hash = hash.length > 1 ? percentEncode(hash, /[^\u0000-\u0020"<>`\u007f-\uffff]/) : "";
      this.searchParams = new URLSearchParams(this.search);
    }
    get host() { return this.port ? `${this.hostname}:${this.port}` : this.hostname; }
    get origin() { return `${this.protocol}//${this.host}`; }
    get href() {
      const credentials = this.username || this.password ? `${this.username}${this.password ? ":" + this.password : ""}@` : "";
      return `${this.protocol}//${credentials}${this.host}${this.pathname}${this.search}${this.hash}`;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }
  global.URL = URL;
  global.URLSearchParams = URLSearchParams;

  // ---- node-fetch ----------------------------------------------------------------------
  class FetchError extends Error {
    constructor(message, type, systemError) {
      super(message);
      this.name = "FetchError";
      this.type = type;
      if (systemError) this.code = this.errno = systemError.code;
    }
  }

  class Headers {
    constructor(init) {
      this._map = new Map();
      if (init instanceof Headers) init.forEach((v, k) => this.append(k, v));
      else if (Array.isArray(init)) init.forEach(([k, v]) => this.append(k, v));
      else if (init) Object.entries(init).forEach(([k, v]) => this.append(k, v));
    }
    append(name, value) {
      const key = String(name).toLowerCase();
      const old = this._map.get(key);
      this._map.set(key, old === undefined ? String(value) : `${old}, ${value}`);
    }
    set(name, value) { this._map.set(String(name).toLowerCase(), String(value)); }
    get(name) { const v = this._map.get(String(name).toLowerCase()); return v === undefined ? null : v; }
    has(name) { return this._map.has(String(name).toLowerCase()); }
    delete(name) { this._map.delete(String(name).toLowerCase()); }
    forEach(fn) { for (const [k, v] of this.entries()) fn(v, k, this); }
    entries() { return [...this._map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[Symbol.iterator](); }
    keys() { return [...this.entries()].map(([k]) => k)[Symbol.iterator](); }
    values() { return [...this.entries()].map(([, v]) => v)[Symbol.iterator](); }
    raw() { const out = {}; this.forEach((v, k) => { out[k] = [v]; }); return out; }
    [Symbol.iterator]() { return this.entries(); }
  }

  class Response {
    constructor(body, init = {}) {
      this._body = body === undefined || body === null ? "" : String(body);
      this.status = init.status === undefined ? 200 : init.status;
      this.statusText = init.statusText || "";
      this.headers = new Headers(init.headers);
      this.url = init.url || "";
      this.redirected = false;
      this.bodyUsed = false;
    }
    get ok() { return this.status >= 200 && this.status < 300; }
    _consume() {
      if (this.bodyUsed) return Promise.reject(new TypeError(`body used already for: ${this.url}`));
      this.bodyUsed = true;
      return Promise.resolve(this._body);
    }
    text() { return this._consume(); }
    json() { return this._consume().then((text) => JSON.parse(text)); }
    buffer() { return this._consume().then((text) => Buffer.from(text)); }
    arrayBuffer() { return this.buffer().then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); }
    clone() {
      if (this.bodyUsed) throw new Error("cannot clone body after it is used");
      return new Response(this._body, this);
    }
  }

  function headersObject(headers) {
    const out = {};
    if (headers instanceof Headers) headers.forEach((v, k) => { out[k] = v; });
    else if (Array.isArray(headers)) headers.forEach(([k, v]) => { out[k] = String(v); });
    else if (headers) Object.entries(headers).forEach(([k, v]) => { out[k] = String(v); });
    return out;
  }

  async function fetch(url, init) {
    const options = init || {};
    let body = options.body === undefined || options.body === null ? null : options.body;
    if (body instanceof Uint8Array) body = Buffer.from(body).toString("utf8");
    else if (body instanceof URLSearchParams) body = body.toString();
    else if (body !== null) body = String(body);
    const answer = await request("fetch", {
      url: String(url), method: options.method === undefined ? "GET" : String(options.method),
      headers: headersObject(options.headers), body,
    });
    return new Response(answer.body, answer);
  }
  fetch.default = fetch;
  fetch.Headers = Headers;
  fetch.Response = Response;
  fetch.FetchError = FetchError;
  fetch.isRedirect = (code) => [301, 302, 303, 307, 308].includes(code);
  global.fetch = fetch;

  // ---- modules -------------------------------------------------------------------------
  class RetryError extends Error {
    constructor(message) {
      super(message);
      this.name = "RetryError";
    }
  }

  // What the plugin-server also provides, but this runtime does not emulate.
  const NOT_EMULATED = ["@google-cloud/bigquery", "@google-cloud/pubsub", "@google-cloud/storage",
    "@posthog/plugin-contrib", "aws-sdk", "ethers", "generic-pool", "snowflake-sdk", "crypto",
    "jsonwebtoken", "faker", "pg", "stream", "url", "zlib"];
  const MODULES = {
    "@posthog/plugin-scaffold": { RetryError },
    "node-fetch": fetch,
  };

  function require(name) {
    if (Object.prototype.hasOwnProperty.call(MODULES, name)) return MODULES[name];
    if (NOT_EMULATED.includes(name)) {
      throw new Error(`Cannot import '${name}'! The plugin-server provides it, but this local runtime does not ` +
        `emulate it (available: ${Object.keys(MODULES).join(", ")}).`);
    }
    throw new Error(`Cannot import '${name}'! This package is not provided by PostHog in plugins.`);
  }

  global.posthog = {
    capture: (event, properties) => request("capture", { event: String(event), properties: properties || {} }),
  };

  // No timers, like the plugin-server's sandbox. mini-racer declares its own with `var`,
  // which cannot be deleted, only emptied.
  global.setTimeout = undefined;
  global.clearTimeout = undefined;

  // ---- the plugin and its hooks ------------------------------------------------------
  function describeError(error) {
    if (error instanceof Error) {
      return { name: String(error.name), message: String(error.message), stack: String(error.stack || ""),
        retry: error instanceof RetryError || error.name === "RetryError" };
    }
    return { name: "Error", message: formatArgument(error), stack: "", retry: false };
  }

  const storage = {
    get: (key, defaultValue) => request("storage.get", { key: String(key) })
      .then((value) => (value === undefined ? defaultValue : value)),
    set: (key, value) => request("storage.set", { key: String(key), value }),
    del: (key) => request("storage.del", { key: String(key) }),
  };

  const cache = {
    set: (key, value, ttlSeconds, options) => request("cache.set", {
      key: String(key), value, ttlSeconds: ttlSeconds || 0, json: !(options && options.jsonSerialize === false),
    }),
    get: (key, defaultValue, options) => request("cache.get", {
      key: String(key), json: !(options && options.jsonSerialize === false),
    }).then((value) => (value === undefined ? defaultValue : value)),
    incr: (key) => request("cache.incr", { key: String(key) }),
    expire: (key, ttlSeconds) => request("cache.expire", { key: String(key), ttlSeconds }),
    lpush: (key, elements) => request("cache.lpush", { key: String(key), elements }),
    lrange: (key, start, end) => request("cache.lrange", { key: String(key), start, end }),
    llen: (key) => request("cache.llen", { key: String(key) }),
    lrem: (key, count, element) => request("cache.lrem", { key: String(key), count, element }),
    lpop: (key, count) => request("cache.lpop", { key: String(key), count: count === undefined ? 1 : count }),
  };

  hooks.install = function install(notifyFunction, optionsJson) {
    notify = notifyFunction;
    const options = JSON.parse(optionsJson);
    loopLimitSeconds = options.loopLimitSeconds;
  };
  // What the host evaluates to enter JavaScript: `__sandbox.enter("name", "<json>")`.
  hooks.enter = (name, messageJson) => hooks[name](messageJson);

  hooks.load = function load(messageJson) {
    turnStart = realNow();
    const [code, filename] = JSON.parse(messageJson);
    const module = { exports: {} };
    try {
      const wrapper = (0, eval)(`(function (exports, require, module, __filename, __dirname) {${code}\n})\n//# sourceURL=${filename}`);
      wrapper.call(module.exports, module.exports, require, module, filename, "/");
    } catch (error) {
      return JSON.stringify({ error: describeError(error) });
    }
    pluginExports = module.exports;
    return JSON.stringify({ hooks: Object.keys(pluginExports).filter((k) => typeof pluginExports[k] === "function") });
  };

  hooks.bind = function bind(metaJson) {
    const given = JSON.parse(metaJson);
    const attachments = {};
    for (const [key, a] of Object.entries(given.attachments)) {
      attachments[key] = { content_type: a.content_type, file_name: a.file_name, contents: Buffer.from(a.contents, "base64") };
    }
    meta = { config: given.config, attachments, global: {}, storage, cache, posthog: global.posthog };
  };

  hooks.call = function call(messageJson) {
    turnStart = realNow();
    const [callId, name, args, nowMs] = JSON.parse(messageJson);
    frozenNow = nowMs;
    currentCall = callId;
    let promise;
    try {
      promise = Promise.resolve(pluginExports[name](...args, meta));
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (value) => {
        let json;
        try { json = JSON.stringify(value); } catch (e) { json = undefined; }
        send("done", { id: callId, ok: true, value: json });
      },
      (error) => send("done", { id: callId, ok: false, error: describeError(error) }),
    );
  };

  hooks.pending = () => pending.size;

  global.__sandbox = hooks;
})(globalThis);
