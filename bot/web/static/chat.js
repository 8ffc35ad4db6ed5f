/*
 * Shopper web chat (static, no build step). The translation table, the API,
 * toasts and the live socket come from common.js (window.ShopUI).
 *
 * Every user-facing string comes from /static/i18n.json; this file holds none.
 * Server-supplied text is only ever written with textContent.
 */
(function () {
  'use strict';

  var ui = window.ShopUI;
  var t = ui.t, setText = ui.setText, api = ui.api, isAuthError = ui.isAuthError, errorText = ui.errorText,
      showToast = ui.showToast, el = ui.el, isLang = ui.isLang;

  var DEFAULT_MAX_CHARS = 1000;
  var NEAR_BOTTOM_PX = 120;
  var MAX_INPUT_PX = 132;
  var RETRY_DELAYS_MS = [1000, 2000, 4000];  // a message is sent up to 4 times under one id
  var STORE_CONV_LANG = 'shopchat.lang.';

  ui.configure({ langKey: 'shopchat.lang', maxToasts: 3 });

  var state = {
    session: null,
    maxChars: DEFAULT_MAX_CHARS,
    epoch: 0,               // bumped on every login/logout; stale async work checks it
    seen: new Map(),        // message id -> element
    localShopper: [],       // optimistic shopper bubbles not yet matched to a server id
    queue: Promise.resolve(),
    busy: 0,                // requests the typing indicator waits for
    typingEl: null,
    pickerBusy: false,
    stuck: true             // the message log is scrolled to the bottom
  };

  var els = {};
  var socket = new ui.LiveSocket('/api/ws', {
    onMessage: handlePush,
    onReopen: function () { resync(state.epoch); },
    onLost: setConnLost,
    check: function () { return api('GET', '/api/session'); },
    signedOut: sessionLost
  });

  /* -------------------------------------------------------------- language */

  function setLang(lang, opts) {
    if (!ui.setLang(lang)) return;
    if (state.session && state.session.conversation_id) {
      ui.storeSet(STORE_CONV_LANG + state.session.conversation_id, lang);
    }
    updateCounter();
    if (opts && opts.post && state.session) {
      api('POST', '/api/language', { language: lang }).catch(failed(state.epoch));
    }
  }

  /** The common ending of a failed request: session lost, or a toast. */
  function failed(epoch) {
    return ui.failure(function () { return epoch === state.epoch; }, sessionLost);
  }

  /* ---------------------------------------------------------------- header */

  function updateHeader() {
    var s = state.session;
    var c = s && s.customer;
    els.custbar.hidden = !c;
    els.currentCustomer.textContent = c ? String(c.name || c.customer_id || '') : '';
    if (c && c.customer_id != null) els.currentCustomer.setAttribute('data-customer-id', String(c.customer_id));
    else els.currentCustomer.removeAttribute('data-customer-id');
    els.currentCustomerVip.hidden = !(c && c.vip);
  }

  /* ---------------------------------------------------------------- picker */

  function showPicker() {
    state.epoch++;
    socket.close();
    resetChat();
    state.session = null;
    updateHeader();
    ui.showScreen('picker');
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
    if (isLang(c.language)) {
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
    els.messageInput.value = '';
    autosize();
    updateCounter();
  }

  function enterChat(session, fresh) {
    if (!session || !session.customer) { showPicker(); return; }
    state.epoch++;
    socket.close();
    resetChat();
    state.session = session;
    var max = Number(session.max_message_chars);
    state.maxChars = max > 0 ? Math.floor(max) : DEFAULT_MAX_CHARS;

    var lang = session.customer.language;
    if (isLang(session.language)) lang = session.language;
    var stored = fresh ? null : ui.storeGet(STORE_CONV_LANG + session.conversation_id);
    var mustPost = false;
    if (isLang(stored) && stored !== lang) { lang = stored; mustPost = true; }
    if (!isLang(lang)) lang = ui.lang();
    setLang(lang, { post: mustPost });

    updateHeader();
    ui.showScreen('chat');
    updateCounter();
    loadHistory(state.epoch);
    if (!isTouch()) els.messageInput.focus();
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
    }).catch(failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      hideTyping();
      socket.open();
    });
  }

  function openChat(epoch) {
    return api('POST', '/api/chat/open', { language: ui.lang() }).then(function (data) {
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
    if (ui.has(symKey)) setText(el, 'money', { symbol: { $t: symKey }, amount: String(amount) });
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
    var id = el('span', 'oc__id', card.order_id);
    id.setAttribute('data-testid', 'order-id');
    idWrap.appendChild(idLabel);
    idWrap.appendChild(id);
    var chip = document.createElement('span');
    chip.className = 'chip chip--' + (/^[a-z_]+$/.test(status) ? status : 'unknown');
    chip.setAttribute('data-testid', 'order-status');
    chip.setAttribute('data-status', status);
    if (ui.has('order_status_' + status)) setText(chip, 'order_status_' + status);
    else chip.textContent = status;
    head.appendChild(idWrap);
    head.appendChild(chip);
    root.appendChild(head);

    var dl = document.createElement('dl');
    dl.className = 'oc__fields';
    if (card.placed_at) dl.appendChild(field('card_placed', el('span', null, card.placed_at)));
    if (card.total != null) {
      var total = moneyEl(card.total, card.currency);
      total.className = 'oc__total';
      total.setAttribute('data-testid', 'order-total');
      dl.appendChild(field('card_total', total, 'oc__field--total'));
    }
    if (card.eta) dl.appendChild(field('card_eta', el('span', 'oc__eta', card.eta)));
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
        li.appendChild(el('span', 'oc__item-name', it.name));
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
        var tx = el('span', 'timeline__text', ev.text);
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
    if (!els.messageInput) return;
    var n = charCount(els.messageInput.value);
    var over = n - state.maxChars;
    setText(els.charCounter, 'char_count', { count: n, max: state.maxChars });
    els.charCounter.classList.toggle('is-over', over > 0);
    els.charCounter.classList.toggle('is-near', over <= 0 && n >= state.maxChars * 0.9);
    if (over > 0) {
      setText(els.charWarning, 'char_over', { over: over });
      els.charWarning.hidden = false;
    } else {
      els.charWarning.hidden = true;
    }
    els.inputHint.hidden = over > 0;
    els.composer.classList.toggle('is-over', over > 0);
    els.messageInput.setAttribute('aria-invalid', over > 0 ? 'true' : 'false');
    els.sendButton.disabled = els.messageInput.value.trim() === '';
  }

  function autosize() {
    var el = els.messageInput;
    el.style.height = 'auto';
    var h = el.scrollHeight;
    el.style.height = Math.min(h, MAX_INPUT_PX) + 'px';
    el.style.overflowY = h > MAX_INPUT_PX ? 'auto' : 'hidden';
  }

  function submitInput() {
    var text = els.messageInput.value.trim();
    if (!text || !state.session) return;
    if (charCount(text) > state.maxChars) {
      showToast(t('error_too_long', { max: state.maxChars }));
      return;
    }
    els.messageInput.value = '';
    autosize();
    updateCounter();
    send(text, null, null);
    if (!isTouch()) els.messageInput.focus();
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
    var pad = ui.pad;
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
    body.message_id = newMessageId();  // a retry sends the same id: the server answers it once
    state.queue = state.queue.then(function () {
      if (epoch !== state.epoch) return null;
      showTyping();
      return postMessage(body, 0, epoch).then(function (data) {
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
        if (!payload && els.messageInput.value === '') {
          els.messageInput.value = text;
          autosize();
          updateCounter();
        }
      }).then(function () {
        if (epoch === state.epoch) hideTyping();
      });
    });
  }

  /** Sends a message, and again under the same id while the service is briefly away. */
  function postMessage(body, attempt, epoch) {
    return api('POST', '/api/messages', body).catch(function (err) {
      if (!retriable(err) || attempt >= RETRY_DELAYS_MS.length || epoch !== state.epoch) throw err;
      return new Promise(function (resolve) { setTimeout(resolve, RETRY_DELAYS_MS[attempt]); })
        .then(function () { return postMessage(body, attempt + 1, epoch); });
    });
  }

  /** No answer at all (a process went away), a 503 (database, Rasa or Redis away), or the same
   * message still being answered by another request. */
  function retriable(err) {
    return err.status === 0 || err.status === 503 || ui.errorCode(err) === 'message_in_progress';
  }

  function newMessageId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    return 'm' + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
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
      setLang(ui.otherLang(ui.lang()), { post: true });
    });
    els.switchCustomer.addEventListener('click', logout);
    els.pickerRetry.addEventListener('click', loadCustomers);
    els.composer.addEventListener('submit', function (e) {
      e.preventDefault();
      submitInput();
    });
    els.messageInput.addEventListener('input', function () {
      autosize();
      updateCounter();
    });
    els.messageInput.addEventListener('keydown', function (e) {
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

  function boot() {
    els = ui.elementsById();
    bind();
    ui.loadTable('/static/i18n.json').then(function () {
      setLang(ui.initialLang());
      return api('GET', '/api/session').then(function (session) {
        enterChat(session, false);
      }, function (err) {
        if (!isAuthError(err)) showToast(errorText(err));
        showPicker();
      });
    });
  }

  ui.ready(boot);
})();
