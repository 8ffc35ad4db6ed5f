/*
 * Agent console (static, no build step).
 *
 * Sign in, then three columns: the queue and the agent's own tickets with live
 * SLA timers; the conversation with a reply box; the copilot panel (customer
 * and orders, likely issues, the suggested resolution and suggested replies).
 * The translation table, the API, toasts, the live socket and the sign-in form
 * come from common.js (window.ShopUI).
 *
 * Every user-facing string comes from /static/agent_i18n.json; this file holds
 * none. Server-supplied text is only ever written with textContent.
 */
(function () {
  'use strict';

  var ui = window.ShopUI;
  var t = ui.t, tCode = ui.tCode, setText = ui.setText, clearText = ui.clearText, api = ui.api,
      isAuthError = ui.isAuthError, errorText = ui.errorText, showToast = ui.showToast, el = ui.el,
      isLang = ui.isLang, pad = ui.pad, clock = ui.clock;

  var REFETCH_DEBOUNCE_MS = 150;
  var NEAR_BOTTOM_PX = 120;
  // Mirrors RoutingConfig.near_breach (15 min) so a timer turns amber on its own
  // between refreshes; the server's sla_state wins whenever it is more severe.
  var NEAR_BREACH_MS = 15 * 60 * 1000;
  // Transfer targets: bot.routing.SKILLS (labels come from the translation table).
  var SKILLS = ['safety', 'price_protection', 'returns', 'orders', 'appliances', 'digital',
                'mother_baby', 'beauty', 'books', 'fresh', 'apparel'];
  // bot.copilot.REPLY_TYPES, in the order the metrics table lists them.
  var SUGGESTION_TYPES = ['claim', 'return', 'exchange', 'defect', 'apology', 'status'];
  var SLA_RANK = { ok: 0, near: 1, breached: 2 };

  ui.configure({ langKey: 'agentconsole.lang', maxToasts: 3 });

  var state = {
    agent: null,
    epoch: 0,               // bumped on every sign-in/out; stale async work checks it
    queue: [],
    mine: [],
    current: null,          // id of the ticket shown in the middle column
    openToken: 0,           // bumped on every openTicket; stale detail responses check it
    ticket: null,           // the shown ticket
    customer: null,
    seen: new Map(),        // message id -> element, for the shown ticket
    inserted: null,         // {id, type, text}: the suggested reply put in the reply box
    sending: false,
    resolutionDone: null,   // {ticket, key, text}: the applied resolution of the shown ticket
    skewMs: 0,              // server clock minus ours, from the Date header
    ticker: null,
    refetchTimer: null
  };

  var els = {};
  var socket = new ui.LiveSocket('/api/agent/ws', {
    onMessage: handlePush,
    onReopen: function () { resync(state.epoch); },
    onLost: setConnLost,
    check: function () { return api('GET', '/api/agent/session'); },
    signedOut: sessionLost
  });

  /* -------------------------------------------------------------- language */

  function setLang(lang) {
    if (!ui.setLang(lang)) return;
    renderSkillOptions();
    if (state.agent && state.current !== null) openTicket(state.current);
    updateOnline();
    tick();
  }

  /* ------------------------------------------------------------------- API */

  /** Keep the server's clock (the Date header) for the SLA timers. */
  function noteServerClock(res) {
    var date = Date.parse(res.headers.get('Date') || '');
    if (!isNaN(date)) {
      var skew = date - Date.now();
      // The header has one-second resolution: ignore differences below that.
      state.skewMs = Math.abs(skew) > 1500 ? skew : 0;
    }
  }

  ui.onResponse(noteServerClock);

  /** The common ending of a failed request: sign-in lost, or a toast. */
  function failed(epoch) {
    return ui.failure(function () { return epoch === state.epoch; }, sessionLost);
  }

  function ticketPath(id, tail) {
    return '/api/agent/tickets/' + encodeURIComponent(id) + (tail ? '/' + tail : '');
  }

  /* --------------------------------------------------------------- screens */

  function showScreen(name) {
    ui.showScreen(name);
    els.agentBar.hidden = name !== 'console';
  }

  /* ----------------------------------------------------------------- login */

  function showLogin() {
    state.epoch++;
    closeSocket();
    stopTicker();
    resetConsole();
    state.agent = null;
    showScreen('login');
    ui.login.reset();
  }

  function submitLogin() {
    var epoch = state.epoch;
    ui.login.submit({
      path: '/api/agent/session',
      idField: 'agent_id',
      current: function () { return epoch === state.epoch; },
      signedIn: function (data) { enterConsole(data && data.agent); }
    });
  }

  function logout() {
    showLogin();
    api('DELETE', '/api/agent/session').catch(function (err) {
      if (!isAuthError(err)) showToast(errorText(err));
    });
  }

  function sessionLost() {
    showToast(t('error_session_expired'));
    showLogin();
  }

  /* --------------------------------------------------------------- console */

  function enterConsole(agent) {
    if (!agent || typeof agent !== 'object') { showLogin(); return; }
    state.epoch++;
    closeSocket();
    resetConsole();
    state.agent = agent;
    els.agentName.textContent = String(agent.name || agent.agent_id || '');
    els.agentId.textContent = String(agent.agent_id || '');
    updateOnline();
    showScreen('console');
    var epoch = state.epoch;
    loadTickets(epoch);
    loadMetrics(epoch);
    socket.open();
    startTicker();
  }

  function resetConsole() {
    state.queue = [];
    state.mine = [];
    closeTicket();
    els.queueList.replaceChildren();
    els.mineList.replaceChildren();
    els.metrics.replaceChildren();
    renderTicketLists();
  }

  function updateOnline() {
    if (!els.onlineToggle) return;
    var online = !!(state.agent && state.agent.online);
    els.onlineToggle.setAttribute('aria-checked', online ? 'true' : 'false');
    els.onlineToggle.classList.toggle('is-online', online);
    els.onlineToggle.setAttribute('data-online', online ? 'true' : 'false');
    setText(els.onlineLabel, online ? 'status_online' : 'status_offline');
    els.onlineToggle.title = t(online ? 'go_offline' : 'go_online');
  }

  function toggleOnline() {
    if (!state.agent) return;
    var epoch = state.epoch;
    els.onlineToggle.disabled = true;
    api('POST', '/api/agent/status', { online: !state.agent.online }).then(function (data) {
      if (epoch !== state.epoch) return;
      if (data && data.agent) state.agent = data.agent;
      updateOnline();
      scheduleRefetch();
    }, failed(epoch)).then(function () {
      els.onlineToggle.disabled = false;
    });
  }

  /* --------------------------------------------------------------- tickets */

  function loadTickets(epoch) {
    return api('GET', '/api/agent/tickets').then(function (data) {
      if (epoch !== state.epoch) return;
      state.queue = (data && Array.isArray(data.queue)) ? data.queue : [];
      state.mine = (data && Array.isArray(data.mine)) ? data.mine : [];
      renderTicketLists();
      syncCurrent();
    }, failed(epoch));
  }

  function scheduleRefetch() {
    if (state.refetchTimer) clearTimeout(state.refetchTimer);
    var epoch = state.epoch;
    state.refetchTimer = setTimeout(function () {
      state.refetchTimer = null;
      if (epoch === state.epoch) loadTickets(epoch);
    }, REFETCH_DEBOUNCE_MS);
  }

  function findTicket(id) {
    var all = state.mine.concat(state.queue);
    for (var i = 0; i < all.length; i++) if (String(all[i].ticket_id) === String(id)) return all[i];
    return null;
  }

  function isMine(ticket) {
    return !!(ticket && state.agent && ticket.status === 'assigned' &&
              String(ticket.assigned_to) === String(state.agent.agent_id));
  }

  /** Keep the shown ticket in step with the lists: its state, or closing it when it left them. */
  function syncCurrent() {
    if (state.current === null) return;
    var fresh = findTicket(state.current);
    if (!fresh) {
      // Taken by someone else or resolved elsewhere: the view would be stale.
      if (state.ticket && isMine(state.ticket)) showToast(t('ticket_gone'), true);
      closeTicket();
      return;
    }
    var wasMine = isMine(state.ticket);
    state.ticket = fresh;
    renderConversationHead();
    if (wasMine !== isMine(fresh)) openTicket(fresh.ticket_id);
  }

  function renderTicketLists() {
    renderList(els.queueList, state.queue, 'queue-ticket', true);
    renderList(els.mineList, state.mine, 'my-ticket', false);
    els.queueCount.textContent = String(state.queue.length);
    els.mineCount.textContent = String(state.mine.length);
    els.queueEmpty.hidden = state.queue.length > 0;
    els.mineEmpty.hidden = state.mine.length > 0;
    tick();
  }

  function renderList(container, tickets, testid, queued) {
    container.replaceChildren();
    tickets.forEach(function (ticket) { container.appendChild(renderTicketCard(ticket, testid, queued)); });
  }

  function customerName(ticket) {
    var c = ticket && ticket.customer;
    return c ? String(c.name || c.customer_id || '') : '';
  }

  function badge(key, cls, testid) {
    var b = ui.badge(key, cls);
    if (testid) b.setAttribute('data-testid', testid);
    return b;
  }

  function slaTimer(ticket, testid) {
    var el = document.createElement('span');
    el.className = 'sla';
    if (testid) el.setAttribute('data-testid', testid);
    setSla(el, ticket);
    return el;
  }

  function setSla(el, ticket) {
    if (ticket && ticket.sla_due) {
      el.setAttribute('data-sla-due', String(ticket.sla_due));
      el.setAttribute('data-sla-server', String(ticket.sla_state || 'ok'));
      el.hidden = false;
    } else {
      el.removeAttribute('data-sla-due');
      el.hidden = true;
    }
    updateSla(el, Date.now() + state.skewMs);
  }

  function renderTicketCard(ticket, testid, queued) {
    var id = String(ticket.ticket_id);
    var card = document.createElement('div');
    card.className = 'ticket';
    card.setAttribute('data-testid', testid);
    card.setAttribute('data-ticket-id', id);
    card.setAttribute('role', 'button');
    card.tabIndex = 0;
    if (ticket.safety) card.classList.add('is-safety');
    else if (ticket.customer && ticket.customer.vip) card.classList.add('is-vip');
    if (String(state.current) === id) {
      card.classList.add('is-selected');
      card.setAttribute('aria-current', 'true');
    }

    var top = document.createElement('div');
    top.className = 'ticket__top';
    var name = document.createElement('span');
    name.className = 'ticket__name';
    name.textContent = customerName(ticket);
    top.appendChild(name);
    if (ticket.customer && ticket.customer.vip) top.appendChild(badge('vip', 'badge--vip', 'vip-badge'));
    if (ticket.safety) top.appendChild(badge('safety', 'badge--safety', 'safety-badge'));
    top.appendChild(slaTimer(ticket, 'sla-timer'));

    var meta = document.createElement('div');
    meta.className = 'ticket__meta';
    var reason = document.createElement('span');
    reason.className = 'ticket__reason';
    reason.setAttribute('data-i18n', 'reason.' + ticket.reason);
    reason.textContent = tCode('reason.', ticket.reason);
    meta.appendChild(reason);
    if (isLang(ticket.language)) {
      var lang = setText(document.createElement('span'), 'lang_short_' + ticket.language);
      lang.className = 'badge badge--lang';
      meta.appendChild(lang);
    }
    if (queued && typeof ticket.position === 'number') {
      var pos = document.createElement('span');
      pos.className = 'ticket__pos';
      pos.setAttribute('data-testid', 'queue-position');
      if (typeof ticket.wait_minutes === 'number') {
        setText(pos, 'queue_position_wait', { position: ticket.position, wait: ticket.wait_minutes });
      } else {
        setText(pos, 'queue_position', { position: ticket.position });
      }
      meta.appendChild(pos);
    }

    card.appendChild(top);
    card.appendChild(meta);
    if (ticket.note) {
      var note = document.createElement('div');
      note.className = 'ticket__note';
      note.textContent = String(ticket.note);
      card.appendChild(note);
    }
    if (queued) {
      var take = setText(document.createElement('button'), 'take_over');
      take.type = 'button';
      take.className = 'btn btn--primary btn--small ticket__take';
      take.setAttribute('data-testid', 'take-over');
      take.setAttribute('data-ticket-id', id);
      take.addEventListener('click', function (e) {
        e.stopPropagation();
        takeOver(id, take);
      });
      card.appendChild(take);
    }
    card.addEventListener('click', function () { openTicket(id); });
    card.addEventListener('keydown', function (e) {
      if (e.target !== card || (e.key !== 'Enter' && e.key !== ' ')) return;
      e.preventDefault();
      openTicket(id);
    });
    return card;
  }

  function takeOver(id, button) {
    var epoch = state.epoch;
    if (button) button.disabled = true;
    api('POST', ticketPath(id, 'take')).then(function (data) {
      if (epoch !== state.epoch) return null;
      var ticket = data && data.ticket;
      var taken = String(ticket && ticket.ticket_id != null ? ticket.ticket_id : id);
      return loadTickets(epoch).then(function () {
        // loadTickets re-opens the shown ticket itself when it just became ours.
        if (epoch !== state.epoch || String(state.current) === taken) return;
        openTicket(taken);
      });
    }).catch(function (err) {
      failed(epoch)(err);
      if (epoch === state.epoch) scheduleRefetch();
    }).then(function () {
      if (button) button.disabled = false;
    });
  }

  /* ------------------------------------------------------------ SLA timers */

  function duration(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    return h > 0 ? h + ':' + pad(m) + ':' + pad(sec) : pad(m) + ':' + pad(sec);
  }

  function updateSla(el, now) {
    var due = Date.parse(el.getAttribute('data-sla-due') || '');
    if (isNaN(due)) { el.textContent = ''; return; }
    var left = due - now;
    // Breached from the first second after the due time, as on the server.
    var local = left < 0 && Math.floor(-left / 1000) >= 1 ? 'breached' : (left <= NEAR_BREACH_MS ? 'near' : 'ok');
    var server = el.getAttribute('data-sla-server') || 'ok';
    var sla = (SLA_RANK[server] || 0) > SLA_RANK[local] ? server : local;
    el.setAttribute('data-state', sla);
    el.classList.toggle('is-near', sla === 'near');
    el.classList.toggle('is-breached', sla === 'breached');
    var key = left >= 0 ? 'sla_left' : 'sla_overdue';
    el.textContent = t(key, { time: duration(left) });
    el.title = t('sla_due_at', { time: clock(new Date(due)) });
  }

  function tick() {
    var now = Date.now() + state.skewMs;
    document.querySelectorAll('[data-sla-due]').forEach(function (el) { updateSla(el, now); });
  }

  function startTicker() {
    stopTicker();
    state.ticker = setInterval(tick, 1000);
  }

  function stopTicker() {
    if (state.ticker) { clearInterval(state.ticker); state.ticker = null; }
  }

  /* ---------------------------------------------------------- conversation */

  function closeTicket() {
    state.current = null;
    state.openToken++;
    state.ticket = null;
    state.customer = null;
    state.seen = new Map();
    state.inserted = null;
    state.resolutionDone = null;
    if (!els.conv) return;
    els.conv.hidden = true;
    els.convEmpty.hidden = false;
    els.copilot.hidden = true;
    els.copilotEmpty.hidden = false;
    els.transcript.replaceChildren();
    els.replyInput.value = '';
    hideTransfer();
    updateReplyFrom();
    updateComposer();
    markSelected();
  }

  function markSelected() {
    document.querySelectorAll('.ticket').forEach(function (card) {
      var on = state.current !== null && card.getAttribute('data-ticket-id') === String(state.current);
      card.classList.toggle('is-selected', on);
      if (on) card.setAttribute('aria-current', 'true');
      else card.removeAttribute('aria-current');
    });
  }

  function openTicket(id) {
    var epoch = state.epoch;
    var same = String(state.current) === String(id);
    var draft = same ? els.replyInput.value : '';
    var inserted = same ? state.inserted : null;
    closeTicket();
    state.current = String(id);
    state.ticket = findTicket(id);
    var token = state.openToken;
    markSelected();
    els.convEmpty.hidden = true;
    els.conv.hidden = false;
    els.conv.classList.add('is-loading');
    renderConversationHead();
    els.replyInput.value = draft;
    state.inserted = inserted;
    updateReplyFrom();
    updateComposer();
    // ?lang= lets the server write the agent-facing texts (hints, resolution) in the console's language.
    api('GET', ticketPath(id) + '?lang=' + encodeURIComponent(ui.lang())).then(function (data) {
      if (epoch !== state.epoch || token !== state.openToken) return;
      if (data && data.ticket) state.ticket = data.ticket;
      state.customer = data && data.copilot && data.copilot.summary ? data.copilot.summary.customer : null;
      renderConversationHead();
      var list = (data && Array.isArray(data.transcript)) ? data.transcript : [];
      list.forEach(addMessage);
      scrollToBottom();
      renderCopilot(data && data.copilot);
      updateComposer();
    }, function (err) {
      if (epoch !== state.epoch || token !== state.openToken) return;
      failed(epoch)(err);
      closeTicket();
    }).then(function () {
      if (token === state.openToken) els.conv.classList.remove('is-loading');
    });
  }

  function renderConversationHead() {
    var ticket = state.ticket;
    if (!ticket) return;
    els.convName.textContent = customerName(ticket);
    els.convVip.hidden = !(ticket.customer && ticket.customer.vip);
    els.convSafety.hidden = !ticket.safety;
    if (isLang(ticket.language)) {
      setText(els.convLang, 'lang_short_' + ticket.language);
      els.convLang.hidden = false;
    } else {
      els.convLang.hidden = true;
    }
    els.convReason.setAttribute('data-i18n', 'reason.' + ticket.reason);
    els.convReason.textContent = tCode('reason.', ticket.reason);
    setSla(els.convSla, ticket);
    els.convNote.hidden = !ticket.note;
    if (ticket.note) setText(els.convNote, 'note_label', { note: String(ticket.note) });
    var mine = isMine(ticket);
    els.conv.classList.toggle('is-mine', mine);
    els.convViewonly.hidden = mine || ticket.status !== 'queued';
    els.ticketActions.hidden = !mine;
    els.composer.hidden = !mine;
    if (!mine) hideTransfer();
    updateComposer();
  }

  function normRole(role) {
    return ['shopper', 'bot', 'agent', 'system'].indexOf(role) >= 0 ? role : 'system';
  }

  function timeOf(at) {
    var d = new Date(at);
    return isNaN(d.getTime()) ? '' : clock(d);
  }

  function nearBottom() {
    var m = els.transcript;
    return m.scrollHeight - m.scrollTop - m.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    els.transcript.scrollTop = els.transcript.scrollHeight;
  }

  function addMessage(m) {
    if (!m || typeof m !== 'object') return;
    var id = m.id != null ? String(m.id) : null;
    if (id !== null && state.seen.has(id)) return;
    var stick = nearBottom();
    var role = normRole(m.role);
    var row = document.createElement('div');
    row.className = 'msg msg--' + role;
    row.setAttribute('data-testid', 'msg-' + role);
    if (id !== null) row.setAttribute('data-message-id', id);

    if (role === 'system') {
      var notice = document.createElement('div');
      notice.className = 'msg__notice';
      notice.textContent = String(m.text == null ? '' : m.text);
      row.appendChild(notice);
    } else {
      var head = document.createElement('div');
      head.className = 'msg__head';
      var who = document.createElement('span');
      who.className = 'msg__who';
      if (role === 'shopper') who.textContent = customerName(state.ticket) || t('shopper_label');
      else if (role === 'bot') setText(who, 'bot_name');
      else if (m.author) who.textContent = String(m.author);
      else setText(who, 'agent_label');
      head.appendChild(who);
      var at = document.createElement('span');
      at.className = 'msg__at';
      at.textContent = timeOf(m.at);
      head.appendChild(at);

      var bubble = document.createElement('div');
      bubble.className = 'msg__bubble';
      bubble.textContent = String(m.text == null ? '' : m.text);
      row.appendChild(head);
      row.appendChild(bubble);

      if (role === 'shopper' && m.intent) {
        var nlu = document.createElement('div');
        nlu.className = 'msg__nlu';
        nlu.setAttribute('data-testid', 'msg-intent');
        var intent = document.createElement('span');
        intent.className = 'msg__intent';
        setText(intent, 'intent_label', { intent: String(m.intent) });
        nlu.appendChild(intent);
        if (typeof m.confidence === 'number' && isFinite(m.confidence)) {
          var conf = document.createElement('span');
          conf.className = 'msg__conf';
          conf.setAttribute('data-testid', 'msg-confidence');
          var pct = Math.round(Math.max(0, Math.min(1, m.confidence)) * 100);
          conf.classList.toggle('is-low', pct < 50);
          setText(conf, 'confidence', { percent: pct });
          nlu.appendChild(conf);
        }
        row.appendChild(nlu);
      }
    }
    els.transcript.appendChild(row);
    if (id !== null) state.seen.set(id, row);
    if (stick) scrollToBottom();
  }

  /* ------------------------------------------------------------- composer */

  function updateComposer() {
    var mine = isMine(state.ticket);
    var text = els.replyInput.value.trim();
    els.replyInput.disabled = !mine;
    els.replySend.disabled = !mine || !text || state.sending;
  }

  function sameText(a, b) {
    return String(a).replace(/\s+/g, ' ').trim() === String(b).replace(/\s+/g, ' ').trim();
  }

  function updateReplyFrom() {
    var ins = state.inserted;
    if (!ins) { els.replyFrom.hidden = true; clearText(els.replyFrom); return; }
    var edited = !sameText(ins.text, els.replyInput.value);
    setText(els.replyFrom, edited ? 'reply_from_edited' : 'reply_from',
            { type: { $t: 'suggestion.' + ins.type } });
    els.replyFrom.hidden = false;
  }

  function sendReply() {
    var ticket = state.ticket;
    var text = els.replyInput.value.trim();
    if (!isMine(ticket) || !text || state.sending) return;
    var epoch = state.epoch;
    var token = state.openToken;
    var ins = state.inserted;
    state.sending = true;
    updateComposer();
    api('POST', ticketPath(ticket.ticket_id, 'messages'), {
      text: text,
      suggestion_id: ins ? ins.id : null,
      edited: ins ? !sameText(ins.text, text) : false
    }).then(function (data) {
      if (epoch !== state.epoch || token !== state.openToken) return;
      addMessage(data && data.message);
      scrollToBottom();
      els.replyInput.value = '';
      state.inserted = null;
      updateReplyFrom();
      if (ins) loadMetrics(epoch);
    }, failed(epoch)).then(function () {
      state.sending = false;
      updateComposer();
      if (token === state.openToken) els.replyInput.focus();
    });
  }

  function insertReply(reply) {
    if (!isMine(state.ticket)) { showToast(t('take_over_first')); return; }
    els.replyInput.value = String(reply.text || '');
    state.inserted = { id: String(reply.id), type: String(reply.suggestion_type || ''), text: els.replyInput.value };
    updateReplyFrom();
    updateComposer();
    els.replyInput.focus();
    var end = els.replyInput.value.length;
    els.replyInput.setSelectionRange(end, end);
  }

  /* -------------------------------------------------------- ticket actions */

  function renderSkillOptions() {
    if (!els.transferSkill) return;
    var chosen = els.transferSkill.value;
    els.transferSkill.replaceChildren();
    SKILLS.forEach(function (skill) {
      var opt = document.createElement('option');
      opt.value = skill;
      opt.textContent = tCode('skill.', skill);
      els.transferSkill.appendChild(opt);
    });
    if (chosen) els.transferSkill.value = chosen;
  }

  function showTransfer() {
    els.transferForm.hidden = false;
    els.transferButton.setAttribute('aria-expanded', 'true');
    els.transferNote.focus();
  }

  function hideTransfer() {
    if (!els.transferForm) return;
    els.transferForm.hidden = true;
    els.transferButton.setAttribute('aria-expanded', 'false');
    els.transferNote.value = '';
  }

  /** Transfer or resolve: the ticket leaves the agent, the view closes and the lists refresh. */
  function leaveTicket(tail, body, doneKey, button) {
    var ticket = state.ticket;
    if (!isMine(ticket)) return;
    var epoch = state.epoch;
    button.disabled = true;
    api('POST', ticketPath(ticket.ticket_id, tail), body).then(function () {
      if (epoch !== state.epoch) return;
      showToast(t(doneKey, { customer: customerName(ticket) }), true);
      if (String(state.current) === String(ticket.ticket_id)) closeTicket();
      loadTickets(epoch);
    }, failed(epoch)).then(function () {
      button.disabled = false;
    });
  }

  function submitTransfer() {
    var skill = els.transferSkill.value;
    if (SKILLS.indexOf(skill) < 0) return;
    leaveTicket('transfer', { skill: skill, note: els.transferNote.value.trim() }, 'transfer_done',
                els.transferSubmit);
  }

  function resolveTicket() {
    leaveTicket('resolve', {}, 'resolve_done', els.resolveButton);
  }

  /* --------------------------------------------------------------- copilot */

  function renderCopilot(copilot) {
    if (!copilot || typeof copilot !== 'object') copilot = {};
    els.copilotEmpty.hidden = true;
    els.copilot.hidden = false;
    var summary = copilot.summary || {};
    if (summary.customer) state.customer = summary.customer;
    renderSummary(summary);
    renderHints(Array.isArray(copilot.hints) ? copilot.hints : []);
    renderResolution(copilot.resolution || null);
    renderReplies(Array.isArray(copilot.replies) ? copilot.replies : []);
  }

  function field(label, valueEl) {
    var row = document.createElement('div');
    row.className = 'kv';
    var k = setText(document.createElement('span'), label);
    k.className = 'kv__k';
    valueEl.classList.add('kv__v');
    row.appendChild(k);
    row.appendChild(valueEl);
    return row;
  }

  function money(amount) {
    return t('money', { amount: String(amount) });
  }

  function renderSummary(summary) {
    els.summary.replaceChildren();
    var c = summary.customer || (state.ticket && state.ticket.customer) || null;
    if (c) {
      var who = document.createElement('div');
      who.className = 'summary__who';
      who.appendChild(el('span', 'summary__name', c.name || c.customer_id));
      if (c.vip) who.appendChild(badge('vip', 'badge--vip'));
      els.summary.appendChild(who);
      els.summary.appendChild(field('customer_id', el('span', null, c.customer_id)));
      if (isLang(c.language)) {
        els.summary.appendChild(field('customer_language', setText(document.createElement('span'), 'lang_' + c.language)));
      }
    }
    var orders = Array.isArray(summary.orders) ? summary.orders : [];
    var title = setText(document.createElement('div'), 'orders_title', { count: orders.length });
    title.className = 'summary__sub';
    els.summary.appendChild(title);
    if (!orders.length) {
      els.summary.appendChild(setText(document.createElement('p'), 'orders_empty')).className = 'empty';
      return;
    }
    var list = document.createElement('ul');
    list.className = 'orders';
    orders.forEach(function (o) { list.appendChild(renderOrder(o)); });
    els.summary.appendChild(list);
  }

  function renderOrder(o) {
    var li = document.createElement('li');
    li.className = 'order';
    li.setAttribute('data-testid', 'summary-order');
    li.setAttribute('data-order-id', String(o.order_id));
    var head = document.createElement('div');
    head.className = 'order__head';
    head.appendChild(el('span', 'order__id', o.order_id));
    var chip = document.createElement('span');
    chip.className = 'chip chip--' + String(o.status);
    chip.setAttribute('data-i18n', 'order_status_' + o.status);
    chip.textContent = tCode('order_status_', o.status);
    head.appendChild(chip);
    if (o.total != null && o.total !== '') head.appendChild(el('span', 'order__total', money(o.total)));
    li.appendChild(head);
    var items = Array.isArray(o.items) ? o.items : [];
    if (items.length) {
      var ul = document.createElement('ul');
      ul.className = 'order__items';
      items.forEach(function (it) {
        var name = typeof it === 'string' ? it : (it && (it.name || it.sku)) || '';
        var row = el('li', null, name);
        if (it && typeof it === 'object' && it.quantity != null) {
          row.appendChild(el('span', 'order__qty', t('quantity', { quantity: it.quantity })));
        }
        ul.appendChild(row);
      });
      li.appendChild(ul);
    }
    return li;
  }

  function renderHints(hints) {
    els.hints.replaceChildren();
    els.hintsEmpty.hidden = hints.length > 0;
    hints.forEach(function (h, i) {
      var li = document.createElement('li');
      li.className = 'hint';
      li.setAttribute('data-testid', 'hint');
      li.setAttribute('data-issue', String(h.issue));
      var top = document.createElement('div');
      top.className = 'hint__top';
      top.appendChild(el('span', 'hint__rank', String(i + 1)));
      var issue = document.createElement('span');
      issue.className = 'hint__issue';
      issue.setAttribute('data-i18n', 'issue.' + h.issue);
      issue.textContent = tCode('issue.', h.issue);
      top.appendChild(issue);
      if (h.order_id) top.appendChild(el('span', 'hint__order', '…' + String(h.order_id).slice(-6)));
      var p = typeof h.probability === 'number' ? Math.round(Math.max(0, Math.min(1, h.probability)) * 100) : null;
      if (p !== null) top.appendChild(el('span', 'hint__prob', t('percent', { percent: p })));
      li.appendChild(top);
      if (p !== null) {
        var bar = document.createElement('div');
        bar.className = 'hint__bar';
        var fill = document.createElement('span');
        fill.style.width = p + '%';
        bar.appendChild(fill);
        li.appendChild(bar);
      }
      if (h.reason) li.appendChild(el('p', 'hint__reason', h.reason));
      els.hints.appendChild(li);
    });
  }

  function resolutionKey(r) {
    return [r.kind, r.order_id, r.line_id].join('|');
  }

  function renderResolution(r) {
    var valid = r && typeof r === 'object' && r.kind;
    els.resolution.hidden = !valid;
    els.resolutionEmpty.hidden = !!valid;
    var done = state.resolutionDone;
    els.resolutionResult.hidden = !(done && done.ticket === state.current);
    if (done && done.ticket === state.current) els.resolutionResult.textContent = done.text;
    if (!valid) return;
    els.resolutionText.textContent = String(r.text || '');
    els.resolution.setAttribute('data-kind', String(r.kind));
    var action = els.resolutionAction;
    action.setAttribute('data-kind', String(r.kind));
    if (ui.has('action.' + r.kind)) setText(action, 'action.' + r.kind);
    else { clearText(action); action.textContent = String(r.action_label || r.kind); }
    var applied = !!(done && done.ticket === state.current && done.key === resolutionKey(r));
    action.disabled = applied || !isMine(state.ticket);
    action.classList.toggle('is-done', applied);
    action.onclick = function () { applyResolution(r); };
  }

  function applyResolution(r) {
    var ticket = state.ticket;
    if (!isMine(ticket)) { showToast(t('take_over_first')); return; }
    var epoch = state.epoch;
    var token = state.openToken;
    els.resolutionAction.disabled = true;
    api('POST', ticketPath(ticket.ticket_id, 'resolution'),
        { kind: r.kind, order_id: r.order_id, line_id: r.line_id }).then(function (data) {
      if (epoch !== state.epoch || token !== state.openToken) return;
      var result = (data && data.result) || {};
      var text = result.text ? String(result.text) : t('resolution_applied');
      var ref = result.claim_id || result.request_id;
      if (ref) text += ' · ' + t('reference', { id: String(ref) });
      else if (typeof result.complaint_count === 'number') text += ' · ' + t('complaint_count', { count: result.complaint_count });
      state.resolutionDone = { ticket: state.current, key: resolutionKey(r), text: text };
      els.resolutionResult.textContent = text;
      els.resolutionResult.hidden = false;
      els.resolutionAction.classList.add('is-done');
    }, function (err) {
      failed(epoch)(err);
      if (epoch === state.epoch && token === state.openToken) els.resolutionAction.disabled = false;
    });
  }

  function renderReplies(replies) {
    els.replies.replaceChildren();
    els.repliesEmpty.hidden = replies.length > 0;
    replies.forEach(function (reply) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'reply';
      b.setAttribute('data-testid', 'suggested-reply');
      b.setAttribute('data-suggestion-id', String(reply.id));
      b.setAttribute('data-suggestion-type', String(reply.suggestion_type || ''));
      var tag = document.createElement('span');
      tag.className = 'reply__type';
      tag.setAttribute('data-i18n', 'suggestion.' + reply.suggestion_type);
      tag.textContent = tCode('suggestion.', reply.suggestion_type);
      var insert = setText(document.createElement('span'), 'insert');
      insert.className = 'reply__insert';
      var head = document.createElement('span');
      head.className = 'reply__head';
      head.appendChild(tag);
      head.appendChild(insert);
      b.appendChild(head);
      b.appendChild(el('span', 'reply__text', reply.text));
      b.disabled = !isMine(state.ticket);
      b.addEventListener('click', function () { insertReply(reply); });
      els.replies.appendChild(b);
    });
  }

  /* --------------------------------------------------------------- metrics */

  function loadMetrics(epoch) {
    api('GET', '/api/agent/metrics').then(function (data) {
      if (epoch !== state.epoch) return;
      renderMetrics((data && data.acceptance) || {});
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) sessionLost();
      // Metrics are a side view: a failure stays quiet.
    });
  }

  function renderMetrics(table) {
    els.metrics.replaceChildren();
    var types = SUGGESTION_TYPES.filter(function (k) { return table[k]; });
    Object.keys(table).forEach(function (k) { if (types.indexOf(k) < 0) types.push(k); });
    if (!types.length) {
      els.metrics.appendChild(setText(document.createElement('p'), 'metrics_empty')).className = 'empty';
      return;
    }
    var grid = document.createElement('table');
    grid.className = 'metrics__table';
    var thead = document.createElement('thead');
    var hr = document.createElement('tr');
    ['metrics_type', 'metrics_shown', 'metrics_used', 'metrics_rate'].forEach(function (key) {
      var th = setText(document.createElement('th'), key);
      th.scope = 'col';
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    grid.appendChild(thead);
    var body = document.createElement('tbody');
    types.forEach(function (k) {
      var row = table[k] || {};
      var shown = Number(row.shown) || 0;
      var used = (Number(row.accepted) || 0) + (Number(row.edited) || 0);
      var rate = typeof row.rate === 'number' ? row.rate : (shown ? used / shown : 0);
      var tr = document.createElement('tr');
      tr.setAttribute('data-testid', 'metrics-row');
      tr.setAttribute('data-suggestion-type', k);
      var name = document.createElement('td');
      name.setAttribute('data-i18n', 'suggestion.' + k);
      name.textContent = tCode('suggestion.', k);
      tr.appendChild(name);
      tr.appendChild(el('td', null, String(shown)));
      var usedCell = setText(document.createElement('td'), 'metrics_used_detail',
                             { accepted: Number(row.accepted) || 0, edited: Number(row.edited) || 0 });
      tr.appendChild(usedCell);
      var rateCell = document.createElement('td');
      rateCell.className = 'metrics__rate';
      var pct = Math.round(rate * 100);
      var bar = document.createElement('span');
      bar.className = 'metrics__bar';
      var fill = document.createElement('span');
      fill.style.width = pct + '%';
      bar.appendChild(fill);
      rateCell.appendChild(bar);
      rateCell.appendChild(el('span', null, t('percent', { percent: pct })));
      tr.appendChild(rateCell);
      body.appendChild(tr);
    });
    grid.appendChild(body);
    els.metrics.appendChild(grid);
  }

  /* ------------------------------------------------------------- websocket */

  function closeSocket() {
    if (state.refetchTimer) { clearTimeout(state.refetchTimer); state.refetchTimer = null; }
    socket.close();
  }

  /** After a reconnect, fetch what may have been pushed meanwhile. */
  function resync(epoch) {
    loadTickets(epoch);
    if (state.current !== null) openTicket(state.current);
  }

  function handlePush(data) {
    if (!data || typeof data !== 'object') return;
    var forCurrent = data.ticket_id != null && state.current !== null &&
      String(data.ticket_id) === String(state.current);
    if (data.type === 'tickets') scheduleRefetch();
    else if (data.type === 'message' && forCurrent) addMessage(data.message);
    else if (data.type === 'copilot' && forCurrent) renderCopilot(data.copilot);
  }

  function setConnLost(lost) { if (els.connStatus) els.connStatus.hidden = !lost; }

  /* ------------------------------------------------------------------ boot */

  function bind() {
    els.langToggle.addEventListener('click', function () { setLang(ui.otherLang(ui.lang())); });
    els.loginForm.addEventListener('submit', function (e) { e.preventDefault(); submitLogin(); });
    els.logout.addEventListener('click', logout);
    els.onlineToggle.addEventListener('click', toggleOnline);
    els.composer.addEventListener('submit', function (e) { e.preventDefault(); sendReply(); });
    els.replyInput.addEventListener('input', function () {
      if (state.inserted && !els.replyInput.value.trim()) state.inserted = null;
      updateReplyFrom();
      updateComposer();
    });
    els.replyInput.addEventListener('keydown', function (e) {
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      sendReply();
    });
    els.transferButton.addEventListener('click', function () {
      if (els.transferForm.hidden) showTransfer(); else hideTransfer();
    });
    els.transferCancel.addEventListener('click', hideTransfer);
    els.transferForm.addEventListener('submit', function (e) { e.preventDefault(); submitTransfer(); });
    els.resolveButton.addEventListener('click', resolveTicket);
    els.viewTakeOver.addEventListener('click', function () {
      if (state.current !== null) takeOver(state.current, els.viewTakeOver);
    });
    els.metricsRefresh.addEventListener('click', function (e) {
      e.preventDefault();
      els.metricsPanel.open = true;
      loadMetrics(state.epoch);
    });
  }

  function boot() {
    els = ui.elementsById();
    bind();
    closeTicket();
    ui.loadTable('/static/agent_i18n.json').then(function () {
      setLang(ui.initialLang());
      return api('GET', '/api/agent/session').then(function (data) {
        enterConsole(data && data.agent);
      }, function (err) {
        if (!isAuthError(err)) showToast(errorText(err));
        showLogin();
      });
    });
  }

  ui.ready(boot);
})();
