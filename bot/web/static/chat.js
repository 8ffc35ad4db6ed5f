/*
 * Shopper web chat (static, no build step).
 *
 * Every user-facing string comes from /static/i18n.json; this file holds none.
 * Server-supplied text is only ever written with textContent.
 */
(function () {
  'use strict';

  var LANGS = ['zh', 'en'];
  var HTML_LANG = { zh: 'zh-CN', en: 'en' };
  var DEFAULT_MAX_CHARS = 1000;
  var TOAST_MS = 6000;
  var MAX_TOASTS = 3;
  var NEAR_BOTTOM_PX = 120;
  var MAX_INPUT_PX = 132;
  var WS_MAX_DELAY_MS = 30000;
  var STORE_LANG = 'shopchat.lang';
  var STORE_CONV_LANG = 'shopchat.lang.';

  var state = {
    dict: { zh: {}, en: {} },
    lang: 'zh',
    session: null,
    maxChars: DEFAULT_MAX_CHARS,
    epoch: 0,               // bumped on every login/logout; stale async work checks it
    seen: new Map(),        // message id -> element
    localShopper: [],       // optimistic shopper bubbles not yet matched to a server id
    queue: Promise.resolve(),
    busy: 0,                // requests the typing indicator waits for
    typingEl: null,
    ws: null,
    wsTimer: null,
    wsRetry: 0,
    wsEverOpen: false,
    pickerBusy: false,
    stuck: true             // the message log is scrolled to the bottom
  };

  var $ = function (id) { return document.getElementById(id); };
  var els = {};

  /* ------------------------------------------------------------------ i18n */

  function otherLang(lang) { return lang === 'zh' ? 'en' : 'zh'; }

  function hasKey(key) {
    var table = state.dict[state.lang] || {};
    return Object.prototype.hasOwnProperty.call(table, key);
  }

  function resolveVar(v) {
    if (v && typeof v === 'object' && typeof v.$t === 'string') return t(v.$t);
    return v == null ? '' : String(v);
  }

  function t(key, vars) {
    var table = state.dict[state.lang] || {};
    var s = table[key];
    if (typeof s !== 'string') {
      var other = state.dict[otherLang(state.lang)] || {};
      s = typeof other[key] === 'string' ? other[key] : key;
    }
    if (!vars) return s;
    return s.replace(/\{(\w+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(vars, name) ? resolveVar(vars[name]) : m;
    });
  }

  /** Give an element a translated text that follows language switches. */
  function setText(el, key, vars) {
    el.setAttribute('data-i18n', key);
    if (vars) el.setAttribute('data-i18n-vars', JSON.stringify(vars));
    else el.removeAttribute('data-i18n-vars');
    el.textContent = t(key, vars);
    return el;
  }

  function readVars(el) {
    var raw = el.getAttribute('data-i18n-vars');
    if (!raw) return null;
    try { return JSON.parse(raw); } catch (e) { return null; }
  }

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

  function setLang(lang, opts) {
    if (LANGS.indexOf(lang) < 0) return;
    state.lang = lang;
    document.documentElement.lang = HTML_LANG[lang];
    applyI18n(document);
    document.title = t('page_title');
    els.langToggle.setAttribute('data-lang', lang);
    els.langToggle.querySelectorAll('[data-lang-opt]').forEach(function (opt) {
      opt.classList.toggle('is-active', opt.getAttribute('data-lang-opt') === lang);
    });
    storeSet(STORE_LANG, lang);
    if (state.session && state.session.conversation_id) {
      storeSet(STORE_CONV_LANG + state.session.conversation_id, lang);
    }
    updateCounter();
    if (opts && opts.post && state.session) {
      var epoch = state.epoch;
      api('POST', '/api/language', { language: lang }).catch(function (err) {
        if (epoch !== state.epoch) return;
        if (isAuthError(err)) { sessionLost(); return; }
        showToast(errorText(err));
      });
    }
  }

  function storeGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function storeSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }

  /* ------------------------------------------------------------------- API */

  function ApiError(status, error) {
    this.status = status;      // 0 = network failure
    this.error = error || null;
  }

  function api(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 204) {
        if (!res.ok) throw new ApiError(res.status, null);
        return null;
      }
      return res.text().then(function (raw) {
        var data = null;
        if (raw) { try { data = JSON.parse(raw); } catch (e) { data = null; } }
        if (!res.ok) throw new ApiError(res.status, data && data.error);
        return data;
      });
    }, function () {
      throw new ApiError(0, null);
    });
  }

  function isAuthError(err) { return err instanceof ApiError && err.status === 401; }

  function errorText(err) {
    if (!(err instanceof ApiError) || err.status === 0) return t('error_network');
    var e = err.error;
    var m = e && e.message;
    if (m && typeof m === 'object') {
      var s = m[state.lang] || m[otherLang(state.lang)];
      if (typeof s === 'string' && s) return s;
    }
    if (typeof m === 'string' && m) return m;
    return t('error_http', { status: err.status });
  }

  /* ---------------------------------------------------------------- toasts */

  function showToast(text) {
    var toast = document.createElement('div');
    toast.className = 'toast';
    toast.setAttribute('data-testid', 'error-toast');
    toast.setAttribute('role', 'alert');
    var msg = document.createElement('span');
    msg.className = 'toast__text';
    msg.textContent = text;
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'toast__close';
    close.setAttribute('data-i18n-aria-label', 'dismiss');
    close.setAttribute('aria-label', t('dismiss'));
    toast.appendChild(msg);
    toast.appendChild(close);
    var remove = function () {
      if (!toast.parentNode) return;
      toast.classList.add('is-leaving');
      setTimeout(function () { if (toast.parentNode) toast.parentNode.removeChild(toast); }, 200);
    };
    close.addEventListener('click', remove);
    setTimeout(remove, TOAST_MS);
    els.toasts.appendChild(toast);
    while (els.toasts.children.length > MAX_TOASTS) els.toasts.removeChild(els.toasts.firstChild);
  }

  /* --------------------------------------------------------------- screens */

  function showScreen(name) {
    els.app.setAttribute('data-screen', name);
    els.bootScreen.hidden = name !== 'boot';
    els.pickerScreen.hidden = name !== 'picker';
    els.chatScreen.hidden = name !== 'chat';
  }

  function updateHeader() {
    var s = state.session;
    var c = s && s.customer;
    els.custbar.hidden = !c;
    els.currentCustomer.textContent = c ? String(c.name || c.customer_id || '') : '';
    if (c && c.customer_id != null) els.currentCustomer.setAttribute('data-customer-id', String(c.customer_id));
    else els.currentCustomer.removeAttribute('data-customer-id');
    els.currentVip.hidden = !(c && c.vip);
  }

  /* ---------------------------------------------------------------- picker */

  function showPicker() {
    state.epoch++;
    closeSocket();
    resetChat();
    state.session = null;
    updateHeader();
    showScreen('picker');
    loadCustomers();
  }

  function setPickerState(key) {
    if (key) setText(els.pickerState, key);
    else { els.pickerState.removeAttribute('data-i18n'); els.pickerState.textContent = ''; }
    els.pickerState.hidden = !key;
    els.pickerState.classList.toggle('is-error', key === 'picker_error');
    els.pickerRetry.hidden = key !== 'picker_error';
  }

  function loadCustomers() {
    var epoch = state.epoch;
    els.customerList.replaceChildren();
    setPickerState('picker_loading');
    api('GET', '/api/customers').then(function (data) {
      if (epoch !== state.epoch) return;
      var list = (data && Array.isArray(data.customers)) ? data.customers : [];
      setPickerState(list.length ? null : 'picker_empty');
      list.forEach(function (c) { els.customerList.appendChild(renderCustomerCard(c)); });
    }, function (err) {
      if (epoch !== state.epoch) return;
      setPickerState('picker_error');
      showToast(errorText(err));
    });
  }

  function firstChar(s) {
    var arr = Array.from(String(s || '').trim());
    return arr.length ? arr[0].toUpperCase() : '';
  }

  function renderCustomerCard(c) {
    var card = document.createElement('button');
    card.type = 'button';
    card.className = 'customer-card';
    card.setAttribute('data-testid', 'customer-card');
    card.setAttribute('data-customer-id', String(c.customer_id));
    if (c.vip) card.classList.add('is-vip');

    var avatar = document.createElement('span');
    avatar.className = 'customer-card__avatar';
    avatar.setAttribute('aria-hidden', 'true');
    avatar.textContent = firstChar(c.name);

    var body = document.createElement('span');
    body.className = 'customer-card__body';
    var top = document.createElement('span');
    top.className = 'customer-card__top';
    var name = document.createElement('span');
    name.className = 'customer-card__name';
    name.setAttribute('data-testid', 'customer-name');
    name.textContent = String(c.name || c.customer_id);
    top.appendChild(name);
    if (c.vip) {
      var vip = setText(document.createElement('span'), 'vip');
      vip.className = 'vip-badge';
      vip.setAttribute('data-testid', 'vip-badge');
      top.appendChild(vip);
    }
    var meta = document.createElement('span');
    meta.className = 'customer-card__meta';
    var id = document.createElement('span');
    id.className = 'customer-card__id';
    id.textContent = String(c.customer_id);
    meta.appendChild(id);
    if (LANGS.indexOf(c.language) >= 0) {
      var lang = setText(document.createElement('span'), 'customer_language', { language: { $t: 'lang_' + c.language } });
      lang.className = 'customer-card__lang';
      meta.appendChild(lang);
    }
    body.appendChild(top);
    body.appendChild(meta);

    var chevron = document.createElement('span');
    chevron.className = 'customer-card__chevron';
    chevron.setAttribute('aria-hidden', 'true');

    card.appendChild(avatar);
    card.appendChild(body);
    card.appendChild(chevron);
    card.addEventListener('click', function () { login(c.customer_id, card); });
    return card;
  }

  function login(customerId, card) {
    if (state.pickerBusy) return;
    state.pickerBusy = true;
    var epoch = state.epoch;
    els.customerList.classList.add('is-busy');
    card.classList.add('is-loading');
    api('POST', '/api/session', { customer_id: customerId }).then(function (session) {
      if (epoch !== state.epoch) return;
      enterChat(session, true);
    }, function (err) {
      if (epoch !== state.epoch) return;
      showToast(errorText(err));
    }).then(function () {
      state.pickerBusy = false;
      els.customerList.classList.remove('is-busy');
      card.classList.remove('is-loading');
    });
  }

  function logout() {
    var wasSession = !!state.session;
    showPicker();
    if (!wasSession) return;
    // Hold the picker until the old session is gone, so a quick new login
    // can never be deleted by this request arriving late.
    state.pickerBusy = true;
    els.customerList.classList.add('is-busy');
    api('DELETE', '/api/session').catch(function (err) {
      if (!isAuthError(err)) showToast(errorText(err));
    }).then(function () {
      state.pickerBusy = false;
      els.customerList.classList.remove('is-busy');
    });
  }

  function sessionLost() {
    showToast(t('error_session_expired'));
    showPicker();
  }

  /* ------------------------------------------------------------------ chat */

  function resetChat() {
    state.seen = new Map();
    state.localShopper = [];
    state.queue = Promise.resolve();
    state.busy = 0;
    state.typingEl = null;
    els.messages.replaceChildren();
    els.newPill.hidden = true;
    setChatStatus(null);
    setConnLost(false);
    els.input.value = '';
    autosize();
    updateCounter();
  }

  function enterChat(session, fresh) {
    if (!session || !session.customer) { showPicker(); return; }
    state.epoch++;
    closeSocket();
    resetChat();
    state.session = session;
    var max = Number(session.max_message_chars);
    state.maxChars = max > 0 ? Math.floor(max) : DEFAULT_MAX_CHARS;

    var lang = session.customer.language;
    if (LANGS.indexOf(session.language) >= 0) lang = session.language;
    var stored = fresh ? null : storeGet(STORE_CONV_LANG + session.conversation_id);
    var mustPost = false;
    if (LANGS.indexOf(stored) >= 0 && stored !== lang) { lang = stored; mustPost = true; }
    if (LANGS.indexOf(lang) < 0) lang = state.lang;
    setLang(lang, { post: mustPost });

    updateHeader();
    showScreen('chat');
    updateCounter();
    loadHistory(state.epoch);
    if (!isTouch()) els.input.focus();
  }

  function loadHistory(epoch) {
    showTyping();
    api('GET', '/api/messages').then(function (data) {
      if (epoch !== state.epoch) return null;
      var list = (data && Array.isArray(data.messages)) ? data.messages : [];
      list.forEach(function (m) { addMessage(m, { quiet: true }); });
      disableAnsweredQuickReplies(list);
      scrollToBottom();
      if (list.length === 0) return openChat(epoch);
      return null;
    }).catch(function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) { sessionLost(); return; }
      showToast(errorText(err));
    }).then(function () {
      if (epoch !== state.epoch) return;
      hideTyping();
      connectSocket(epoch);
    });
  }

  function openChat(epoch) {
    return api('POST', '/api/chat/open', { language: state.lang }).then(function (data) {
      if (epoch !== state.epoch) return;
      addMessages(data && data.messages);
    });
  }

  function addMessages(list) {
    if (!Array.isArray(list)) return;
    list.forEach(function (m) { addMessage(m); });
  }

  /** Render one server message unless its id was already rendered. */
  function addMessage(m, opts) {
    if (!m || typeof m !== 'object') return;
    var id = m.id != null ? String(m.id) : null;
    if (id !== null && state.seen.has(id)) return;
    var role = normRole(m.role);

    if (role === 'shopper' && id !== null) {
      // Our own optimistic bubble coming back from the server: adopt its id.
      var text = String(m.text == null ? '' : m.text);
      for (var i = 0; i < state.localShopper.length; i++) {
        var local = state.localShopper[i];
        if (local.text === text) {
          state.localShopper.splice(i, 1);
          local.el.setAttribute('data-message-id', id);
          local.el.classList.remove('is-pending');
          state.seen.set(id, local.el);
          return;
        }
      }
    }
    var el = renderMessage(m, role);
    if (id !== null) state.seen.set(id, el);
    appendRow(el, opts && opts.quiet);
  }

  function normRole(role) {
    if (role === 'shopper' || role === 'agent' || role === 'system') return role;
    return 'bot';
  }

  function timeOf(at) {
    var s = String(at || '');
    var match = /[T ](\d{2}:\d{2})/.exec(s);
    return match ? match[1] : '';
  }

  function renderMessage(m, role) {
    var row = document.createElement('div');
    row.className = 'msg msg--' + role;
    row.setAttribute('data-testid', 'msg-' + role);
    row.setAttribute('data-role', role);
    if (m.id != null) row.setAttribute('data-message-id', String(m.id));
    var text = m.text == null ? '' : String(m.text);

    if (role === 'system') {
      var note = document.createElement('div');
      note.className = 'msg__notice';
      note.setAttribute('data-testid', 'msg-text');
      note.textContent = text;
      row.appendChild(note);
      return row;
    }

    if (role !== 'shopper') {
      var avatar = document.createElement('div');
      avatar.className = 'msg__avatar';
      avatar.setAttribute('aria-hidden', 'true');
      row.appendChild(avatar);
    }

    var body = document.createElement('div');
    body.className = 'msg__body';
    if (role !== 'shopper') {
      var name = setText(document.createElement('div'), role === 'agent' ? 'agent_label' : 'bot_name');
      name.className = 'msg__name';
      if (role === 'agent') name.setAttribute('data-testid', 'agent-label');
      body.appendChild(name);
    }

    var bubble = document.createElement('div');
    bubble.className = 'msg__bubble';
    if (text) {
      var p = document.createElement('div');
      p.className = 'msg__text';
      p.setAttribute('data-testid', 'msg-text');
      p.textContent = text;
      bubble.appendChild(p);
    }
    if (m.card && typeof m.card === 'object' && m.card.type === 'order') {
      bubble.appendChild(renderOrderCard(m.card));
      bubble.classList.add('has-card');
    }
    body.appendChild(bubble);

    if (Array.isArray(m.buttons) && m.buttons.length && role !== 'shopper') {
      var quick = document.createElement('div');
      quick.className = 'msg__quick';
      m.buttons.forEach(function (b) {
        if (!b || b.title == null) return;
        var btn = document.createElement('button');
        btn.type = 'button';
        btn.className = 'quick-reply';
        btn.setAttribute('data-testid', 'quick-reply');
        btn.textContent = String(b.title);
        btn.addEventListener('click', function () {
          if (btn.disabled) return;
          sendQuickReply(String(b.title), b.payload == null ? null : String(b.payload), btn);
        });
        quick.appendChild(btn);
      });
      body.appendChild(quick);
    }

    var time = timeOf(m.at);
    if (time) {
      var meta = document.createElement('div');
      meta.className = 'msg__meta';
      meta.textContent = time;
      meta.title = String(m.at);
      body.appendChild(meta);
    }
    row.appendChild(body);
    return row;
  }

  /* ------------------------------------------------------------ order card */

  function moneyEl(amount, currency) {
    var el = document.createElement('span');
    var cur = String(currency || 'CNY');
    var symKey = 'currency_symbol_' + cur;
    if (hasKey(symKey)) setText(el, 'money', { symbol: { $t: symKey }, amount: String(amount) });
    else setText(el, 'money_code', { amount: String(amount), currency: cur });
    return el;
  }

  function field(labelKey, valueEl, cls) {
    var row = document.createElement('div');
    row.className = 'oc__field' + (cls ? ' ' + cls : '');
    var dt = setText(document.createElement('dt'), labelKey);
    var dd = document.createElement('dd');
    dd.appendChild(valueEl);
    row.appendChild(dt);
    row.appendChild(dd);
    return row;
  }

  function plain(text, cls) {
    var el = document.createElement('span');
    if (cls) el.className = cls;
    el.textContent = text == null ? '' : String(text);
    return el;
  }

  function renderOrderCard(card) {
    var status = String(card.status || '');
    var root = document.createElement('div');
    root.className = 'order-card';
    root.setAttribute('data-testid', 'order-card');
    root.setAttribute('data-order-id', String(card.order_id || ''));
    root.setAttribute('data-status', status);

    var head = document.createElement('div');
    head.className = 'oc__head';
    var idWrap = document.createElement('div');
    idWrap.className = 'oc__idwrap';
    var idLabel = setText(document.createElement('span'), 'card_order');
    idLabel.className = 'oc__idlabel';
    var id = plain(card.order_id, 'oc__id');
    id.setAttribute('data-testid', 'order-id');
    idWrap.appendChild(idLabel);
    idWrap.appendChild(id);
    var chip = document.createElement('span');
    chip.className = 'chip chip--' + (/^[a-z_]+$/.test(status) ? status : 'unknown');
    chip.setAttribute('data-testid', 'order-status');
    chip.setAttribute('data-status', status);
    if (hasKey('order_status_' + status)) setText(chip, 'order_status_' + status);
    else chip.textContent = status;
    head.appendChild(idWrap);
    head.appendChild(chip);
    root.appendChild(head);

    var dl = document.createElement('dl');
    dl.className = 'oc__fields';
    if (card.placed_at) dl.appendChild(field('card_placed', plain(card.placed_at)));
    if (card.total != null) {
      var total = moneyEl(card.total, card.currency);
      total.className = 'oc__total';
      total.setAttribute('data-testid', 'order-total');
      dl.appendChild(field('card_total', total, 'oc__field--total'));
    }
    if (card.eta) dl.appendChild(field('card_eta', plain(card.eta, 'oc__eta')));
    root.appendChild(dl);

    var items = Array.isArray(card.items) ? card.items : [];
    if (items.length) {
      var sec = document.createElement('div');
      sec.className = 'oc__section';
      var title = setText(document.createElement('div'), 'card_items');
      title.className = 'oc__section-title';
      sec.appendChild(title);
      var ul = document.createElement('ul');
      ul.className = 'oc__items';
      items.forEach(function (it) {
        if (!it || typeof it !== 'object') return;
        var li = document.createElement('li');
        li.className = 'oc__item';
        li.setAttribute('data-testid', 'order-item');
        li.appendChild(plain(it.name, 'oc__item-name'));
        var qty = setText(document.createElement('span'), 'card_quantity', { quantity: String(it.quantity == null ? 1 : it.quantity) });
        qty.className = 'oc__item-qty';
        li.appendChild(qty);
        if (it.paid != null) {
          var paid = moneyEl(it.paid, card.currency);
          paid.className = 'oc__item-paid';
          li.appendChild(paid);
        }
        ul.appendChild(li);
      });
      sec.appendChild(ul);
      root.appendChild(sec);
    }

    var tracking = Array.isArray(card.tracking) ? card.tracking.filter(function (e) { return e && typeof e === 'object'; }) : [];
    // Newest first; "YYYY-MM-DD HH:MM" strings sort chronologically.
    tracking = tracking.slice().sort(function (a, b) {
      var x = String(a.at || ''), y = String(b.at || '');
      return x < y ? 1 : x > y ? -1 : 0;
    });
    var det = document.createElement('details');
    det.className = 'oc__tracking';
    det.setAttribute('data-testid', 'order-tracking');
    var sum = document.createElement('summary');
    var sumLabel = setText(document.createElement('span'), 'card_tracking');
    sumLabel.className = 'oc__tracking-label';
    sum.appendChild(sumLabel);
    var latest = document.createElement('span');
    latest.className = 'oc__tracking-latest';
    if (tracking.length) latest.textContent = String(tracking[0].text || '');
    else setText(latest, 'card_tracking_empty');
    sum.appendChild(latest);
    det.appendChild(sum);
    if (tracking.length) {
      var ol = document.createElement('ol');
      ol.className = 'timeline';
      tracking.forEach(function (ev) {
        var li = document.createElement('li');
        li.className = 'timeline__item';
        var tm = document.createElement('time');
        tm.className = 'timeline__at';
        tm.textContent = String(ev.at || '');
        var tx = plain(ev.text, 'timeline__text');
        li.appendChild(tm);
        li.appendChild(tx);
        ol.appendChild(li);
      });
      det.appendChild(ol);
    } else {
      det.classList.add('is-empty');
    }
    root.appendChild(det);
    return root;
  }

  /* ------------------------------------------------------- scroll & typing */

  function nearBottom() {
    var m = els.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    els.messages.scrollTop = els.messages.scrollHeight;
    els.newPill.hidden = true;
    state.stuck = true;
  }

  function appendRow(el, quiet) {
    var stick = nearBottom();
    var own = el.getAttribute('data-role') === 'shopper';
    if (state.typingEl && state.typingEl.parentNode === els.messages) els.messages.insertBefore(el, state.typingEl);
    else els.messages.appendChild(el);
    if (quiet) return;
    if (stick || own) scrollToBottom();
    else els.newPill.hidden = false;
  }

  function showTyping() {
    state.busy++;
    if (state.typingEl) return;
    var stick = nearBottom();
    var row = document.createElement('div');
    row.className = 'msg msg--bot msg--typing';
    row.setAttribute('data-testid', 'typing');
    row.setAttribute('role', 'status');
    row.setAttribute('data-i18n-aria-label', 'typing');
    row.setAttribute('aria-label', t('typing'));
    var avatar = document.createElement('div');
    avatar.className = 'msg__avatar';
    avatar.setAttribute('aria-hidden', 'true');
    var bubble = document.createElement('div');
    bubble.className = 'msg__bubble typing-dots';
    for (var i = 0; i < 3; i++) bubble.appendChild(document.createElement('i'));
    row.appendChild(avatar);
    row.appendChild(bubble);
    state.typingEl = row;
    els.messages.appendChild(row);
    if (stick) scrollToBottom();
  }

  function hideTyping() {
    state.busy = Math.max(0, state.busy - 1);
    if (state.busy > 0 || !state.typingEl) return;
    if (state.typingEl.parentNode) state.typingEl.parentNode.removeChild(state.typingEl);
    state.typingEl = null;
  }

  /* --------------------------------------------------------------- sending */

  function charCount(s) { return Array.from(s).length; }

  function updateCounter() {
    if (!els.input) return;
    var n = charCount(els.input.value);
    var over = n - state.maxChars;
    setText(els.counter, 'char_count', { count: n, max: state.maxChars });
    els.counter.classList.toggle('is-over', over > 0);
    els.counter.classList.toggle('is-near', over <= 0 && n >= state.maxChars * 0.9);
    if (over > 0) {
      setText(els.warning, 'char_over', { over: over });
      els.warning.hidden = false;
    } else {
      els.warning.hidden = true;
    }
    els.hint.hidden = over > 0;
    els.composer.classList.toggle('is-over', over > 0);
    els.input.setAttribute('aria-invalid', over > 0 ? 'true' : 'false');
    els.send.disabled = els.input.value.trim() === '';
  }

  function autosize() {
    var el = els.input;
    el.style.height = 'auto';
    var h = el.scrollHeight;
    el.style.height = Math.min(h, MAX_INPUT_PX) + 'px';
    el.style.overflowY = h > MAX_INPUT_PX ? 'auto' : 'hidden';
  }

  function submitInput() {
    var text = els.input.value.trim();
    if (!text || !state.session) return;
    if (charCount(text) > state.maxChars) {
      showToast(t('error_too_long', { max: state.maxChars }));
      return;
    }
    els.input.value = '';
    autosize();
    updateCounter();
    send(text, null, null);
    if (!isTouch()) els.input.focus();
  }

  function sendQuickReply(title, payload, btn) {
    if (!state.session) return;
    send(title, payload, btn);
  }

  /** Disable every quick reply on screen; returns the buttons it disabled. */
  function disableQuickReplies() {
    var changed = [];
    els.messages.querySelectorAll('.quick-reply').forEach(function (b) {
      if (!b.disabled) { b.disabled = true; changed.push(b); }
    });
    return changed;
  }

  /** History: a quick reply the shopper already used retires it and every older one. */
  function disableAnsweredQuickReplies(list) {
    var lastUsed = -1;
    var titles = [];
    list.forEach(function (m, i) {
      if (!m || typeof m !== 'object') return;
      if (normRole(m.role) === 'shopper') {
        var text = String(m.text == null ? '' : m.text);
        for (var j = 0; j < titles.length; j++) {
          if (titles[j].title === text) { lastUsed = i; break; }
        }
      } else if (Array.isArray(m.buttons)) {
        m.buttons.forEach(function (b) { if (b && b.title != null) titles.push({ title: String(b.title) }); });
      }
    });
    if (lastUsed < 0) return;
    for (var k = 0; k < lastUsed; k++) {
      var m = list[k];
      if (!m || m.id == null) continue;
      var el = state.seen.get(String(m.id));
      if (!el) continue;
      el.querySelectorAll('.quick-reply').forEach(function (b) { b.disabled = true; });
    }
  }

  function renderLocalShopper(text) {
    var el = renderMessage({ text: text, at: localIso() }, 'shopper');
    el.classList.add('is-pending');
    var entry = { text: text, el: el };
    state.localShopper.push(entry);
    appendRow(el, false);
    scrollToBottom();
    return entry;
  }

  function localIso() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
      'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  function send(text, payload, btn) {
    var epoch = state.epoch;
    var retired = [];
    if (btn) {
      retired = disableQuickReplies();
      btn.classList.add('is-chosen');
    }
    var entry = renderLocalShopper(text);
    var body = payload ? { text: text, payload: payload } : { text: text };
    state.queue = state.queue.then(function () {
      if (epoch !== state.epoch) return null;
      showTyping();
      return api('POST', '/api/messages', body).then(function (data) {
        if (epoch !== state.epoch) return;
        entry.el.classList.remove('is-pending');
        addMessages(data && data.messages);
      }, function (err) {
        if (epoch !== state.epoch) return;
        markFailed(entry);
        retired.forEach(function (b) { b.disabled = false; });
        if (btn) btn.classList.remove('is-chosen');
        if (isAuthError(err)) { sessionLost(); return; }
        showToast(errorText(err));
        if (!payload && els.input.value === '') {
          els.input.value = text;
          autosize();
          updateCounter();
        }
      }).then(function () {
        if (epoch === state.epoch) hideTyping();
      });
    });
  }

  function markFailed(entry) {
    var i = state.localShopper.indexOf(entry);
    if (i >= 0) state.localShopper.splice(i, 1);
    entry.el.classList.remove('is-pending');
    entry.el.classList.add('is-failed');
    var stick = nearBottom();
    var bubble = entry.el.querySelector('.msg__bubble');
    var note = setText(document.createElement('div'), 'send_failed');
    note.className = 'msg__failed';
    note.setAttribute('data-testid', 'send-failed');
    bubble.parentNode.insertBefore(note, bubble.nextSibling);
    if (stick) scrollToBottom();
  }

  /* ------------------------------------------------------------- websocket */

  function closeSocket() {
    if (state.wsTimer) { clearTimeout(state.wsTimer); state.wsTimer = null; }
    var ws = state.ws;
    state.ws = null;
    state.wsRetry = 0;
    state.wsEverOpen = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (e) { /* already closed */ }
    }
  }

  function connectSocket(epoch) {
    if (epoch !== state.epoch || state.ws) return;
    var proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws;
    try {
      ws = new WebSocket(proto + '//' + window.location.host + '/api/ws');
    } catch (e) {
      scheduleReconnect(epoch);
      return;
    }
    state.ws = ws;
    ws.onopen = function () {
      if (epoch !== state.epoch) { ws.close(); return; }
      var reopened = state.wsEverOpen;
      state.wsEverOpen = true;
      state.wsRetry = 0;
      setConnLost(false);
      if (reopened) resync(epoch);
    };
    ws.onmessage = function (ev) {
      if (epoch !== state.epoch) return;
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      handlePush(data);
    };
    ws.onerror = function () { /* a close event follows */ };
    ws.onclose = function () {
      if (state.ws === ws) state.ws = null;
      if (epoch !== state.epoch) return;
      scheduleReconnect(epoch);
    };
  }

  function scheduleReconnect(epoch) {
    if (state.wsTimer) clearTimeout(state.wsTimer);
    var base = Math.min(WS_MAX_DELAY_MS, 1000 * Math.pow(2, state.wsRetry));
    var delay = Math.round(base * (0.75 + Math.random() * 0.5));
    state.wsRetry++;
    if (state.wsRetry >= 2) setConnLost(true);
    state.wsTimer = setTimeout(function () {
      state.wsTimer = null;
      if (epoch !== state.epoch) return;
      if (state.wsRetry < 2) { connectSocket(epoch); return; }
      // After repeated failures, make sure the session still exists.
      api('GET', '/api/session').then(function () {
        connectSocket(epoch);
      }, function (err) {
        if (epoch !== state.epoch) return;
        if (isAuthError(err)) { sessionLost(); return; }
        connectSocket(epoch);
      });
    }, delay);
  }

  /** Fetch the history after a reconnect to pick up anything pushed meanwhile. */
  function resync(epoch) {
    api('GET', '/api/messages').then(function (data) {
      if (epoch !== state.epoch) return;
      addMessages(data && data.messages);
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) sessionLost();
    });
  }

  function handlePush(data) {
    if (!data || typeof data !== 'object') return;
    if (data.type === 'message') addMessage(data.message);
    else if (data.type === 'status') setChatStatus(data);
  }

  function setChatStatus(s) {
    var el = els.chatStatus;
    el.classList.remove('is-queued', 'is-with-agent');
    if (!s || (s.status !== 'queued' && s.status !== 'with_agent')) {
      el.hidden = true;
      el.removeAttribute('data-i18n');
      el.removeAttribute('data-status');
      el.textContent = '';
      return;
    }
    el.setAttribute('data-status', s.status);
    if (s.status === 'with_agent') {
      el.classList.add('is-with-agent');
      setText(el, 'chat_status_with_agent');
    } else {
      el.classList.add('is-queued');
      var hasPos = typeof s.position === 'number';
      var hasWait = typeof s.wait_minutes === 'number';
      if (hasPos && hasWait) setText(el, 'chat_status_queued', { position: s.position, wait_minutes: s.wait_minutes });
      else if (hasPos) setText(el, 'chat_status_queued_position', { position: s.position });
      else setText(el, 'chat_status_queued_simple');
    }
    el.hidden = false;
  }

  function setConnLost(lost) { els.connStatus.hidden = !lost; }

  /* ------------------------------------------------------------------ boot */

  function isTouch() {
    return window.matchMedia && window.matchMedia('(pointer: coarse)').matches;
  }

  function bind() {
    els.langToggle.addEventListener('click', function () {
      setLang(otherLang(state.lang), { post: true });
    });
    els.switchCustomer.addEventListener('click', logout);
    els.pickerRetry.addEventListener('click', loadCustomers);
    els.composer.addEventListener('submit', function (e) {
      e.preventDefault();
      submitInput();
    });
    els.input.addEventListener('input', function () {
      autosize();
      updateCounter();
    });
    els.input.addEventListener('keydown', function (e) {
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      submitInput();
    });
    els.messages.addEventListener('scroll', function () {
      state.stuck = nearBottom();
      if (state.stuck) els.newPill.hidden = true;
    });
    // Keep the newest message in view when the log shrinks (status line,
    // on-screen keyboard, growing input box) while the reader is at the bottom.
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        if (state.stuck) els.messages.scrollTop = els.messages.scrollHeight;
      }).observe(els.messages);
    }
    els.newPill.addEventListener('click', scrollToBottom);
  }

  function initialLang() {
    var stored = storeGet(STORE_LANG);
    if (LANGS.indexOf(stored) >= 0) return stored;
    var nav = String(navigator.language || '').toLowerCase();
    return nav.indexOf('en') === 0 ? 'en' : 'zh';
  }

  function boot() {
    els.app = $('app');
    els.langToggle = $('lang-toggle');
    els.custbar = $('custbar');
    els.currentCustomer = $('current-customer');
    els.currentVip = $('current-customer-vip');
    els.switchCustomer = $('switch-customer');
    els.bootScreen = $('boot-screen');
    els.pickerScreen = $('picker-screen');
    els.pickerState = $('picker-state');
    els.pickerRetry = $('picker-retry');
    els.customerList = $('customer-list');
    els.chatScreen = $('chat-screen');
    els.chatStatus = $('chat-status');
    els.connStatus = $('conn-status');
    els.messages = $('messages');
    els.newPill = $('new-pill');
    els.composer = $('composer');
    els.input = $('message-input');
    els.send = $('send-button');
    els.counter = $('char-counter');
    els.warning = $('char-warning');
    els.hint = $('input-hint');
    els.toasts = $('toasts');
    bind();

    fetch('/static/i18n.json', { credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .catch(function () { return null; })
      .then(function (dict) {
        if (dict && typeof dict === 'object') {
          state.dict = { zh: dict.zh || {}, en: dict.en || {} };
        }
        setLang(initialLang());
        return api('GET', '/api/session').then(function (session) {
          enterChat(session, false);
        }, function (err) {
          if (!isAuthError(err)) showToast(errorText(err));
          showPicker();
        });
      });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
