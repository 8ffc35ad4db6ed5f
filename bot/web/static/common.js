/*
 * What the shopper chat, the agent console and the operator console share
 * (static, no build step): the translation table and t(), data-i18n attributes,
 * the language toggle and its stored choice, the JSON API and its error texts,
 * toasts, time formats, element helpers, the live socket and the consoles'
 * sign-in form.
 *
 * One global, window.ShopUI. Each page loads this file first, then its own,
 * calls ShopUI.configure() once and keeps only what is its own. Like the pages,
 * this file holds no user-facing string, and server-supplied text is only ever
 * written with textContent.
 */
(function () {
  'use strict';

  var LANGS = ['zh', 'en'];
  var HTML_LANG = { zh: 'zh-CN', en: 'en' };
  var TOAST_MS = 6000;
  var WS_MAX_DELAY_MS = 30000;

  var settings = {
    langKey: null,          // where the chosen language is stored, e.g. 'shopchat.lang'
    maxToasts: 3
  };
  var i18n = {
    dict: { zh: {}, en: {} },
    lang: 'zh'
  };
  var responseHooks = [];

  /** Set the page's language storage key and how many toasts may stand at once. */
  function configure(options) {
    Object.keys(options).forEach(function (k) { settings[k] = options[k]; });
  }

  function byId(id) { return document.getElementById(id); }

  /** Run `fn` once the document has been parsed. */
  function ready(fn) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn);
    else fn();
  }

  /* ------------------------------------------------------------------ i18n */

  function isLang(lang) { return LANGS.indexOf(lang) >= 0; }

  function otherLang(lang) { return lang === 'zh' ? 'en' : 'zh'; }

  /** The page's current language, 'zh' or 'en'. */
  function lang() { return i18n.lang; }

  function has(key) {
    var table = i18n.dict[i18n.lang] || {};
    return typeof table[key] === 'string';
  }

  function resolveVar(v) {
    if (v && typeof v === 'object' && typeof v.$t === 'string') return t(v.$t);
    return v == null ? '' : String(v);
  }

  /**
   * The text for `key` in the current language (else the other one, else the key itself), its
   * {placeholders} filled from `vars`; a var {$t: key} is itself translated, e.g.
   * t('customer_language', {language: {$t: 'lang_en'}}).
   */
  function t(key, vars) {
    var table = i18n.dict[i18n.lang] || {};
    var s = table[key];
    if (typeof s !== 'string') {
      var other = i18n.dict[otherLang(i18n.lang)] || {};
      s = typeof other[key] === 'string' ? other[key] : key;
    }
    if (!vars) return s;
    return s.replace(/\{(\w+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(vars, name) ? resolveVar(vars[name]) : m;
    });
  }

  /** A translated label for a code, e.g. tCode('skill.', 'fresh'); the code itself when unknown. */
  function tCode(prefix, code) {
    return has(prefix + code) ? t(prefix + code) : String(code == null ? '' : code);
  }

  /** Give an element a translated text that follows language switches. */
  function setText(el, key, vars) {
    el.setAttribute('data-i18n', key);
    if (vars) el.setAttribute('data-i18n-vars', JSON.stringify(vars));
    else el.removeAttribute('data-i18n-vars');
    el.textContent = t(key, vars);
    return el;
  }

  /** setText for a code that may have no entry: the code itself then, as plain text. */
  function setCode(el, prefix, code) {
    if (has(prefix + code)) return setText(el, prefix + code);
    clearText(el);
    el.textContent = String(code == null ? '' : code);
    return el;
  }

  function clearText(el) {
    el.removeAttribute('data-i18n');
    el.removeAttribute('data-i18n-vars');
    el.textContent = '';
  }

  function readVars(el) {
    var raw = el.getAttribute('data-i18n-vars');
    if (!raw) return null;
    try { return JSON.parse(raw); } catch (e) { return null; }
  }

  /** Translate every data-i18n, data-i18n-placeholder, -aria-label and -title under `root`. */
  function applyI18n(root) {
    root.querySelectorAll('[data-i18n]').forEach(function (el) {
      el.textContent = t(el.getAttribute('data-i18n'), readVars(el));
    });
    [['data-i18n-placeholder', 'placeholder'],
     ['data-i18n-aria-label', 'aria-label'],
     ['data-i18n-title', 'title']].forEach(function (pair) {
      root.querySelectorAll('[' + pair[0] + ']').forEach(function (el) {
        el.setAttribute(pair[1], t(el.getAttribute(pair[0])));
      });
    });
  }

  /** Fetch the page's translation table; without it every text shows its key. Never rejects. */
  function loadTable(url) {
    return fetch(url, { credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .catch(function () { return null; })
      .then(function (dict) {
        if (dict && typeof dict === 'object') i18n.dict = { zh: dict.zh || {}, en: dict.en || {} };
      });
  }

  /* -------------------------------------------------------------- language */

  function storeGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storeSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }

  /** The language chosen last time on this page, else the browser's (English or Chinese). */
  function initialLang() {
    var stored = storeGet(settings.langKey);
    if (isLang(stored)) return stored;
    var nav = String(navigator.language || '').toLowerCase();
    return nav.indexOf('en') === 0 ? 'en' : 'zh';
  }

  /**
   * Switch the page to `lang`: every data-i18n text, the title, <html lang>, the #lang-toggle
   * and the stored choice. Returns false (and changes nothing) when `lang` is not a language.
   */
  function setLang(lang) {
    if (!isLang(lang)) return false;
    i18n.lang = lang;
    document.documentElement.lang = HTML_LANG[lang];
    applyI18n(document);
    document.title = t('page_title');
    var toggle = byId('lang-toggle');
    toggle.setAttribute('data-lang', lang);
    toggle.querySelectorAll('[data-lang-opt]').forEach(function (opt) {
      opt.classList.toggle('is-active', opt.getAttribute('data-lang-opt') === lang);
    });
    storeSet(settings.langKey, lang);
    return true;
  }

  /* ------------------------------------------------------------------- API */

  /** A failed request: `status` 0 is a network failure; `error` is the answer's {code, message}. */
  function ApiError(status, error, body) {
    this.status = status;
    this.error = error || null;
    this.body = body || {};    // the whole answer: problems, regressions, current_version, job...
  }

  /** Call `fn(response)` on every answer, e.g. to read its Date header. */
  function onResponse(fn) { responseHooks.push(fn); }

  /** A JSON request; resolves with the answer (null for 204), rejects with an ApiError. */
  function api(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      responseHooks.forEach(function (fn) { fn(res); });
      if (res.status === 204) {
        if (!res.ok) throw new ApiError(res.status, null, null);
        return null;
      }
      return res.text().then(function (raw) {
        var data = null;
        if (raw) { try { data = JSON.parse(raw); } catch (e) { data = null; } }
        if (!res.ok) throw new ApiError(res.status, data && data.error, data);
        return data;
      });
    }, function () {
      throw new ApiError(0, null, null);
    });
  }

  function isAuthError(err) { return err instanceof ApiError && err.status === 401; }

  function errorCode(err) { return err instanceof ApiError && err.error ? err.error.code : null; }

  /**
   * What to tell the user about a failed request: the server's message in the current language,
   * else the table's text for its code, else its plain message, else the HTTP status.
   */
  function errorText(err) {
    if (!(err instanceof ApiError) || err.status === 0) return t('error_network');
    var e = err.error;
    var m = e && e.message;
    if (m && typeof m === 'object') {
      var s = m[i18n.lang] || m[otherLang(i18n.lang)];
      if (typeof s === 'string' && s) return s;
    }
    if (e && typeof e.code === 'string' && has('error.' + e.code)) return t('error.' + e.code);
    if (typeof m === 'string' && m) return m;
    return t('error_http', { status: err.status });
  }

  /**
   * The usual ending of a failed request: nothing once `current()` says the page has moved on,
   * `signedOut()` when the session is gone (401), else a toast.
   */
  function failure(current, signedOut) {
    return function (err) {
      if (!current()) return;
      if (isAuthError(err)) { signedOut(); return; }
      showToast(errorText(err));
    };
  }

  /* ---------------------------------------------------------------- toasts */

  /** A toast in #toasts: an error, or with `ok` a notice; it leaves by itself after 6 s. */
  function showToast(text, ok) {
    var box = byId('toasts');
    var toast = el('div', 'toast' + (ok ? ' toast--ok' : ''));
    toast.setAttribute('data-testid', ok ? 'notice-toast' : 'error-toast');
    toast.setAttribute('data-kind', ok ? 'notice' : 'error');
    toast.setAttribute('role', ok ? 'status' : 'alert');
    var close = el('button', 'toast__close');
    close.type = 'button';
    close.setAttribute('data-i18n-aria-label', 'dismiss');
    close.setAttribute('aria-label', t('dismiss'));
    toast.appendChild(el('span', 'toast__text', text));
    toast.appendChild(close);
    var remove = function () {
      if (!toast.parentNode) return;
      toast.classList.add('is-leaving');
      setTimeout(function () { if (toast.parentNode) toast.parentNode.removeChild(toast); }, 200);
    };
    close.addEventListener('click', remove);
    setTimeout(remove, TOAST_MS);
    box.appendChild(toast);
    while (box.children.length > settings.maxToasts) box.removeChild(box.firstChild);
  }

  /* --------------------------------------------------------------- formats */

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  /** A Date's local hour and minute, e.g. "09:05". */
  function clock(d) { return pad(d.getHours()) + ':' + pad(d.getMinutes()); }

  /** An ISO time as a short local date and time in the page's language; the input itself when unreadable. */
  function dateTime(iso) {
    var d = new Date(iso);
    if (!iso || isNaN(d.getTime())) return String(iso == null ? '' : iso);
    return d.toLocaleString(HTML_LANG[i18n.lang], {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit'
    });
  }

  /* -------------------------------------------------------------- elements */

  /** A new element with a class and a plain text (both optional). */
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }

  /** A new element with a translated text. */
  function tEl(tag, cls, key, vars) {
    return setText(el(tag, cls), key, vars);
  }

  function badge(key, cls, vars) {
    return tEl('span', 'badge ' + (cls || ''), key, vars);
  }

  function camel(id) { return id.replace(/-([a-z0-9])/g, function (m, c) { return c.toUpperCase(); }); }

  /** Every element of the page that has an id, by its camel-cased id: #login-id is .loginId. */
  function elementsById() {
    var found = {};
    document.querySelectorAll('[id]').forEach(function (node) { found[camel(node.id)] = node; });
    return found;
  }

  /** Show the screen #<name>-screen and hide the page's other .screen sections. */
  function showScreen(name) {
    var app = byId('app');
    app.setAttribute('data-screen', name);
    app.querySelectorAll('.screen').forEach(function (screen) { screen.hidden = screen.id !== name + '-screen'; });
  }

  /* ----------------------------------------------------------- live socket */

  /**
   * The page's websocket at `path`, which comes back after a drop: a retry waits 1 s, doubling
   * up to 30 s, give or take a quarter. From the second failed try on, `opts.onLost(true)` says
   * the connection is lost and `opts.check()` (a request, e.g. for the session) must answer before
   * the next try; a 401 there calls `opts.signedOut()`. `opts.onMessage(data)` gets each JSON push
   * and `opts.onReopen()` runs after a reconnect, to fetch what may have been pushed meanwhile.
   */
  function LiveSocket(path, opts) {
    this.path = path;
    this.opts = opts;
    this.ws = null;
    this.timer = null;
    this.retry = 0;
    this.everOpen = false;
    this.generation = 0;    // bumped by close(); callbacks of an older socket check it
  }

  LiveSocket.prototype.open = function () { this.connect(this.generation); };

  LiveSocket.prototype.close = function () {
    this.generation++;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    var ws = this.ws;
    this.ws = null;
    this.retry = 0;
    this.everOpen = false;
    this.opts.onLost(false);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (e) { /* already closed */ }
    }
  };

  LiveSocket.prototype.connect = function (gen) {
    var self = this;
    if (gen !== this.generation || this.ws) return;
    var proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws;
    try {
      ws = new WebSocket(proto + '//' + window.location.host + this.path);
    } catch (e) {
      this.reconnectLater(gen);
      return;
    }
    this.ws = ws;
    ws.onopen = function () {
      if (gen !== self.generation) { ws.close(); return; }
      var reopened = self.everOpen;
      self.everOpen = true;
      self.retry = 0;
      self.opts.onLost(false);
      if (reopened) self.opts.onReopen();
    };
    ws.onmessage = function (ev) {
      if (gen !== self.generation) return;
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      self.opts.onMessage(data);
    };
    ws.onerror = function () { /* a close event follows */ };
    ws.onclose = function () {
      if (self.ws === ws) self.ws = null;
      if (gen !== self.generation) return;
      self.reconnectLater(gen);
    };
  };

  LiveSocket.prototype.reconnectLater = function (gen) {
    var self = this;
    if (this.timer) clearTimeout(this.timer);
    var base = Math.min(WS_MAX_DELAY_MS, 1000 * Math.pow(2, this.retry));
    var delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.retry++;
    if (this.retry >= 2) this.opts.onLost(true);
    this.timer = setTimeout(function () {
      self.timer = null;
      if (gen !== self.generation) return;
      if (self.retry < 2) { self.connect(gen); return; }
      // After repeated failures, make sure the session still holds.
      self.opts.check().then(function () {
        self.connect(gen);
      }, function (err) {
        if (gen !== self.generation) return;
        if (isAuthError(err)) { self.opts.signedOut(); return; }
        self.connect(gen);
      });
    }, delay);
  };

  /* -------------------------------------------------------- console sign-in */

  /**
   * The consoles' sign-in form: #login-id, #login-password, #login-error and #login-submit.
   * A refused sign-in (401, 403) is said under the form; any other failure in a toast.
   */
  var login = {
    /** The form afresh: no password, no error, the caret in the id. */
    reset: function () {
      byId('login-password').value = '';
      login.showError(null);
      byId('login-id').focus();
    },

    showError: function (text) {
      var box = byId('login-error');
      box.hidden = !text;
      box.textContent = text || '';
    },

    /**
     * Post the id (named `opts.idField`) and the password to `opts.path`, then call
     * `opts.signedIn(answer)`, unless `opts.current()` says the page has moved on meanwhile.
     */
    submit: function (opts) {
      var id = byId('login-id').value.trim();
      var password = byId('login-password');
      var submit = byId('login-submit');
      if (!id || !password.value) {
        login.showError(t('login_missing'));
        return;
      }
      var body = {};
      body[opts.idField] = id;
      body.password = password.value;
      submit.disabled = true;
      login.showError(null);
      api('POST', opts.path, body).then(function (data) {
        if (!opts.current()) return;
        opts.signedIn(data);
      }, function (err) {
        if (!opts.current()) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
          login.showError(errorText(err));
          password.select();
        } else {
          showToast(errorText(err));
        }
      }).then(function () {
        submit.disabled = false;
      });
    }
  };

  window.ShopUI = {
    LANGS: LANGS,
    configure: configure,
    byId: byId,
    ready: ready,
    // i18n
    isLang: isLang,
    otherLang: otherLang,
    lang: lang,
    has: has,
    t: t,
    tCode: tCode,
    setText: setText,
    setCode: setCode,
    clearText: clearText,
    applyI18n: applyI18n,
    loadTable: loadTable,
    // language
    storeGet: storeGet,
    storeSet: storeSet,
    initialLang: initialLang,
    setLang: setLang,
    // API
    ApiError: ApiError,
    api: api,
    onResponse: onResponse,
    isAuthError: isAuthError,
    errorCode: errorCode,
    errorText: errorText,
    failure: failure,
    // toasts
    showToast: showToast,
    // formats
    pad: pad,
    clock: clock,
    dateTime: dateTime,
    // elements
    el: el,
    tEl: tEl,
    badge: badge,
    elementsById: elementsById,
    showScreen: showScreen,
    // live socket and sign-in
    LiveSocket: LiveSocket,
    login: login
  };
})();
