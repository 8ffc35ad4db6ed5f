/*
 * Operator console (static, no build step).
 *
 * Sign in, then one tab per part of the edit → validate → test → publish loop:
 * NLU examples (zh and en side by side), responses, raw data files (checked
 * while typing), training with a live progress view and a serving-vs-candidate
 * report, publish and rollback, real conversations turned into training data
 * and test stories, and the audit trail. The translation table, the API,
 * toasts and the sign-in form come from common.js (window.ShopUI).
 *
 * Every user-facing string comes from /static/operator_i18n.json; this file
 * holds none. Server-supplied text is only ever written with textContent.
 */
(function () {
  'use strict';

  var ui = window.ShopUI;
  var t = ui.t, has = ui.has, setText = ui.setText, setCode = ui.setCode, clearText = ui.clearText, api = ui.api,
      isAuthError = ui.isAuthError, errorCode = ui.errorCode, errorText = ui.errorText, showToast = ui.showToast,
      el = ui.el, tEl = ui.tEl, badge = ui.badge, dateTime = ui.dateTime, pad = ui.pad, isLang = ui.isLang;

  var LANGS = ui.LANGS;
  var TABS = ['nlu', 'responses', 'files', 'train', 'conversations', 'audit'];
  var CHECK_DEBOUNCE_MS = 600;
  var POLL_MS = 1000;
  // The editor's line height in px; operator.css sets the same on .editor__text and the gutter.
  var LINE_PX = 20;
  var LOW_CONFIDENCE = 0.6;
  // Where the responses live (bot/web/operator.py DOMAIN).
  var RESPONSES_FILE = 'domain.yml';
  // Job steps in the order the trainer runs them (bot.studio.progress.Progress.step).
  var STEPS = ['validating', 'training', 'testing', 'done'];
  // Data file kinds, in the order the file list groups them.
  var KINDS = ['nlu', 'domain', 'stories', 'rules', 'test_stories'];
  // Audit actions written by bot/web/operator.py, in the order the filter lists them.
  var ACTIONS = ['file_saved', 'example_added', 'example_removed', 'response_saved', 'training_started',
                 'published', 'publish_override', 'rolled_back', 'intent_corrected', 'story_saved'];

  ui.configure({ langKey: 'opsconsole.lang', maxToasts: 4 });

  var state = {
    operator: null,
    epoch: 0,               // bumped on every sign-in/out; stale async work checks it
    tab: null,
    // NLU
    intents: null,          // [{intent, zh:[{text,file}], en:[...], missing:[...]}]
    intentsStale: false,
    intentsLoading: false,
    intent: null,           // the selected intent's name
    exampleProblems: { zh: [], en: [] },
    // Responses
    responses: null,        // [{name, zh, en}]
    respVersion: null,
    respStale: false,
    respLoading: false,
    respDrafts: {},         // "name\nlang" -> edited text
    respProblems: {},       // "name\nlang" -> problems
    respSaving: {},         // "name\nlang" -> true
    // Files
    files: null,            // [{path, kind, language}]
    filesStale: false,
    filesLoading: false,
    file: null,             // {path, kind, language, text (as saved), version (the edit's base)}
    fileToken: 0,
    fileSaving: false,
    fileRestored: false,
    pendingLine: null,      // {path, line, column}: where to put the caret once a file has loaded
    drafts: {},             // path -> {text, version}: unsaved edits, kept across file switches
    problems: [],
    checkState: null,
    checkTimer: null,
    checkToken: 0,
    conflict: null,         // {current_version}
    gutterKey: '',
    // Train & publish
    job: null,
    pollTimer: null,
    pollErrors: 0,          // failed status polls in a row
    validating: false,
    validation: null,       // {ok, messages}
    models: null,
    publishing: false,
    rollingBack: false,
    blocked: null,          // {model, regressions, untested}: the last publish_blocked answer
    // Conversations
    convs: null,
    convsLoading: false,
    convToken: 0,
    conv: null,             // {data, selections: {turn: intent}, added: {turn: path}}
    // Audit
    audit: null,
    auditLoading: false
  };

  var els = {};

  /* -------------------------------------------------------------- language */

  function setLang(lang) {
    if (!ui.setLang(lang)) return;
    // Dates, numbers and composed labels are formatted for the language: draw the views again.
    if (state.operator) renderAll();
  }

  /* -------------------------------------------------------------- formats */

  function duration(seconds) {
    var s = Math.max(0, Math.floor(Number(seconds) || 0));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return h > 0 ? h + ':' + pad(m) + ':' + pad(s % 60) : m + ':' + pad(s % 60);
  }

  function isNum(x) { return typeof x === 'number' && isFinite(x); }

  function percent(x) {
    return isNum(x) ? t('percent', { value: (x * 100).toFixed(1) }) : t('none_value');
  }

  function shortVersion(v) {
    var s = String(v == null ? '' : v);
    return s.length > 10 ? s.slice(0, 10) : s;
  }

  function modelBase(name) { return String(name || '').replace(/\.tar\.gz$/, ''); }

  function langLabel(lang) { return isLang(lang) ? { $t: 'lang_short_' + lang } : String(lang || ''); }

  /* ------------------------------------------------------------- elements */

  function langBadge(lang) {
    var b = el('span', 'badge badge--lang');
    if (isLang(lang) || lang === 'mixed') setText(b, 'lang_short_' + lang);
    else b.textContent = String(lang || '');
    return b;
  }

  function setBusy(button, busy) {
    button.classList.toggle('is-busy', !!busy);
    button.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  /* ------------------------------------------------------------------- API */

  /** A data file's URL: each path segment escaped, the slashes kept. */
  function filePath(path) {
    return '/api/ops/files/' + String(path).split('/').map(encodeURIComponent).join('/');
  }

  /** The common ending of a failed request: sign-in lost, or a toast. */
  function failed(epoch) {
    return ui.failure(function () { return epoch === state.epoch; }, sessionLost);
  }

  function problemsOf(err) {
    var list = err instanceof ui.ApiError && err.body && err.body.problems;
    return Array.isArray(list) ? list : null;
  }

  function notify(key, vars) { showToast(t(key, vars), true); }

  /* -------------------------------------------------------------- problems */

  function paramsOf(p) { return p && p.params && typeof p.params === 'object' ? p.params : {}; }

  /**
   * The variables of a problem's message: its params (bot/studio/checks.py CODES), with the
   * language and the expected shape translated, and blanks for the ones it did not send.
   */
  function problemVars(p) {
    var params = paramsOf(p);
    var vars = { name: '', key: '', expected: '', language: '', response: '', intent: '', example: '',
                 first_line: '', code: String(p && p.code) };
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      vars[k] = v == null ? '' : (typeof v === 'object' ? JSON.stringify(v) : String(v));
    });
    if (isLang(vars.language)) vars.language = { $t: 'lang_name_' + vars.language };
    if (has('expected.' + vars.expected)) vars.expected = { $t: 'expected.' + vars.expected };
    return vars;
  }

  function problemKey(p) {
    var code = String(p && p.code);
    // A shape problem of the whole file names no key.
    if (code === 'bad_shape' && !paramsOf(p).key) return 'problem.bad_shape_file';
    return has('problem.' + code) ? 'problem.' + code : 'problem.unknown';
  }

  function problemMessage(node, p) {
    return setText(node, problemKey(p), problemVars(p));
  }

  /**
   * One problem as a list item; with `jump(line, column, problem)`, a button that puts the caret on its line.
   */
  function renderProblem(p, jump) {
    var li = el('li', 'problem');
    li.setAttribute('data-testid', 'problem');
    li.setAttribute('data-code', String(p && p.code));
    var line = p && Number(p.line);
    var hasLine = isNum(line) && line > 0;
    var host = li;
    if (hasLine && jump) {
      host = el('button', 'problem__jump');
      host.type = 'button';
      host.setAttribute('data-line', String(line));
      host.addEventListener('click', function () { jump(line, Number(p.column) || 1, p); });
      li.appendChild(host);
    }
    if (hasLine) {
      var where = tEl('span', 'problem__line', isNum(Number(p.column)) && p.column ? 'line_col' : 'line_n',
                      { line: line, column: p.column });
      host.appendChild(where);
    }
    var body = el('span', 'problem__body');
    body.appendChild(problemMessage(el('span', 'problem__text'), p));
    // The YAML parser's own words (English), for the curious.
    var detail = paramsOf(p).detail;
    if (detail) body.appendChild(el('span', 'problem__detail', detail));
    host.appendChild(body);
    return li;
  }

  function fillProblems(list, problems, jump) {
    list.replaceChildren();
    (problems || []).forEach(function (p) { list.appendChild(renderProblem(p, jump)); });
    list.hidden = !(problems && problems.length);
  }

  /* --------------------------------------------------------------- screens */

  function showScreen(name) {
    ui.showScreen(name);
    els.opBar.hidden = name !== 'console';
  }

  /* ----------------------------------------------------------------- login */

  function showLogin() {
    state.epoch++;
    stopPolling();
    resetConsole();
    state.operator = null;
    showScreen('login');
    ui.login.reset();
  }

  function submitLogin() {
    var epoch = state.epoch;
    ui.login.submit({
      path: '/api/ops/session',
      idField: 'operator_id',
      current: function () { return epoch === state.epoch; },
      signedIn: function (data) { enterConsole(data && data.operator); }
    });
  }

  function logout() {
    showLogin();
    api('DELETE', '/api/ops/session').catch(function (err) {
      if (!isAuthError(err)) showToast(errorText(err));
    });
  }

  function sessionLost() {
    showToast(t('error_session_expired'));
    showLogin();
  }

  /* --------------------------------------------------------------- console */

  function enterConsole(operator) {
    if (!operator || typeof operator !== 'object') { showLogin(); return; }
    state.epoch++;
    stopPolling();
    resetConsole();
    state.operator = operator;
    els.opName.textContent = String(operator.name || operator.operator_id || '');
    els.opIdLabel.textContent = String(operator.operator_id || '');
    showScreen('console');
    var epoch = state.epoch;
    loadJob(epoch);
    loadIntents(epoch);       // the NLU tab's badge and the conversation tab's intent choices
    openTab(initialTab(), false);
  }

  function resetConsole() {
    if (state.checkTimer) { clearTimeout(state.checkTimer); state.checkTimer = null; }
    state.tab = null;
    state.intents = null; state.intentsStale = false; state.intent = null;
    state.exampleProblems = { zh: [], en: [] };
    state.responses = null; state.respVersion = null; state.respStale = false;
    state.respDrafts = {}; state.respProblems = {}; state.respSaving = {};
    state.files = null; state.filesStale = false; state.file = null; state.fileToken++;
    state.drafts = {}; state.problems = []; state.conflict = null; state.checkState = null;
    state.fileRestored = false;
    state.job = null; state.validation = null; state.models = null; state.blocked = null;
    state.publishing = false; state.rollingBack = false; state.validating = false;
    state.convs = null; state.conv = null; state.convToken++;
    state.audit = null;
    if (!els.app) return;
    els.addExampleZh.value = '';
    els.addExampleEn.value = '';
    els.publishReason.value = '';
    els.rollbackReason.value = '';
    els.storyName.value = '';
    els.editorText.value = '';
    renderAll();
  }

  function renderAll() {
    renderTabBadges();
    renderIntentList();
    renderIntentDetail();
    renderResponses();
    renderFileList();
    renderFileEditor();
    renderValidation();
    renderJob();
    renderModels();
    renderConvList();
    renderConvDetail();
    renderAuditActions();
    renderAudit();
  }

  function hasUnsaved() {
    return Object.keys(state.drafts).length > 0 || Object.keys(state.respDrafts).length > 0;
  }

  /* ------------------------------------------------------------------ tabs */

  function initialTab() {
    var hash = String(window.location.hash || '').replace(/^#/, '');
    return TABS.indexOf(hash) >= 0 ? hash : 'nlu';
  }

  function tabButton(name) { return els['tab' + name.charAt(0).toUpperCase() + name.slice(1)]; }

  function openTab(name, focus) {
    if (TABS.indexOf(name) < 0) return;
    state.tab = name;
    TABS.forEach(function (tab) {
      var on = tab === name;
      var button = tabButton(tab);
      button.setAttribute('aria-selected', on ? 'true' : 'false');
      button.tabIndex = on ? 0 : -1;
      button.classList.toggle('is-active', on);
      $panel(tab).hidden = !on;
    });
    if (focus) tabButton(name).focus();
    try { window.history.replaceState(null, '', '#' + name); } catch (e) { /* file:// or sandboxed */ }
    var epoch = state.epoch;
    var needIntents = (!state.intents || state.intentsStale) && !state.intentsLoading;
    if (name === 'nlu' && needIntents) loadIntents(epoch);
    if (name === 'responses' && (!state.responses || state.respStale)) loadResponses(epoch);
    if (name === 'files' && (!state.files || state.filesStale)) loadFiles(epoch);
    if (name === 'train') { loadModels(epoch); if (!isRunning()) loadJob(epoch); renderTrainUnsaved(); }
    if (name === 'conversations') {
      if (!state.convs) loadConversations(epoch);
      if (needIntents) loadIntents(epoch);
    }
    if (name === 'audit') loadAudit(epoch);
  }

  function $panel(tab) { return els['panel' + tab.charAt(0).toUpperCase() + tab.slice(1)]; }

  /** Arrow keys, Home and End move between tabs (the WAI-ARIA tabs pattern). */
  function onTabKey(e) {
    var i = TABS.indexOf(state.tab);
    var next = null;
    if (e.key === 'ArrowRight') next = TABS[(i + 1) % TABS.length];
    else if (e.key === 'ArrowLeft') next = TABS[(i - 1 + TABS.length) % TABS.length];
    else if (e.key === 'Home') next = TABS[0];
    else if (e.key === 'End') next = TABS[TABS.length - 1];
    if (!next) return;
    e.preventDefault();
    openTab(next, true);
  }

  function renderTabBadges() {
    var missing = (state.intents || []).filter(isMissing).length;
    els.tabNluBadge.hidden = !missing;
    els.tabNluBadge.textContent = String(missing);
    els.tabNluBadge.title = missing ? t('intents_missing_badge', { count: missing }) : '';
    var respMissing = (state.responses || []).filter(responseMissing).length;
    els.tabResponsesBadge.hidden = !respMissing;
    els.tabResponsesBadge.textContent = String(respMissing);
    els.tabResponsesBadge.title = respMissing ? t('responses_missing_badge', { count: respMissing }) : '';
    var unsaved = Object.keys(state.drafts).length;
    els.tabFilesBadge.hidden = !unsaved;
    els.tabFilesBadge.textContent = String(unsaved);
    els.tabFilesBadge.title = unsaved ? t('files_unsaved_badge', { count: unsaved }) : '';
    els.tabTrainDot.hidden = !isRunning();
    els.tabTrainDot.title = isRunning() ? t('status.running') : '';
  }

  /* ------------------------------------------------------------------- NLU */

  function isMissing(entry) { return Array.isArray(entry.missing) && entry.missing.length > 0; }

  function examplesOf(entry, lang) { return Array.isArray(entry && entry[lang]) ? entry[lang] : []; }

  function findIntent(name) {
    var list = state.intents || [];
    for (var i = 0; i < list.length; i++) if (list[i].intent === name) return list[i];
    return null;
  }

  function loadIntents(epoch) {
    state.intentsLoading = true;
    renderIntentList();
    return api('GET', '/api/ops/intents').then(function (data) {
      if (epoch !== state.epoch) return;
      state.intents = (data && Array.isArray(data.intents)) ? data.intents : [];
      state.intentsStale = false;
      renderTabBadges();
      renderIntentDetail();
      renderConvDetail();
    }, failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      state.intentsLoading = false;
      renderIntentList();
    });
  }

  function intentMatches(entry, query) {
    if (!query) return true;
    if (String(entry.intent).toLowerCase().indexOf(query) >= 0) return true;
    return LANGS.some(function (lang) {
      return examplesOf(entry, lang).some(function (ex) {
        return String(ex && ex.text).toLowerCase().indexOf(query) >= 0;
      });
    });
  }

  function renderIntentList() {
    var all = state.intents || [];
    var query = els.intentSearch.value.trim().toLowerCase();
    var onlyMissing = els.intentOnlyMissing.checked;
    var shown = all.filter(function (e) { return (!onlyMissing || isMissing(e)) && intentMatches(e, query); });
    els.intentCount.textContent = String(all.length);
    els.intentMissingCount.textContent = String(all.filter(isMissing).length);
    els.intentList.replaceChildren();
    shown.forEach(function (entry) { els.intentList.appendChild(renderIntentItem(entry)); });
    var loading = state.intentsLoading && !state.intents;
    els.intentLoading.hidden = !loading;
    els.intentEmpty.hidden = loading || shown.length > 0;
    if (!shown.length) setText(els.intentEmpty, all.length ? 'intents_no_match' : 'intents_empty');
  }

  function renderIntentItem(entry) {
    var name = String(entry.intent);
    var li = el('li');
    var b = el('button', 'item');
    b.type = 'button';
    b.setAttribute('data-testid', 'intent-' + name);
    b.setAttribute('data-intent', name);
    if (state.intent === name) {
      b.classList.add('is-selected');
      b.setAttribute('aria-current', 'true');
    }
    var top = el('span', 'item__top');
    top.appendChild(el('span', 'item__name item__name--mono', name));
    if (isMissing(entry)) {
      var warn = el('span', 'badge badge--warn');
      warn.setAttribute('data-testid', 'intent-missing');
      setText(warn, 'missing_langs', { langs: missingLabel(entry.missing) });
      top.appendChild(warn);
    }
    b.appendChild(top);
    var counts = el('span', 'item__meta');
    LANGS.forEach(function (lang) {
      var n = examplesOf(entry, lang).length;
      var c = tEl('span', 'lang-count' + (n ? '' : ' is-zero'), 'lang_count', { lang: langLabel(lang), count: n });
      c.setAttribute('data-lang', lang);
      counts.appendChild(c);
    });
    b.appendChild(counts);
    b.addEventListener('click', function () { selectIntent(name); });
    li.appendChild(b);
    return li;
  }

  function missingLabel(missing) {
    return (missing || []).map(function (lang) { return t('lang_short_' + lang); }).join(' / ');
  }

  function selectIntent(name) {
    if (state.intent !== name) {
      state.exampleProblems = { zh: [], en: [] };
      els.addExampleZh.value = '';
      els.addExampleEn.value = '';
    }
    state.intent = name;
    els.intentList.querySelectorAll('.item').forEach(function (b) {
      var on = b.getAttribute('data-intent') === name;
      b.classList.toggle('is-selected', on);
      if (on) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
    });
    renderIntentDetail();
  }

  /** From elsewhere (a confusion in the report): open the NLU tab on that intent. */
  function goToIntent(name) {
    openTab('nlu', false);
    els.intentSearch.value = '';
    els.intentOnlyMissing.checked = false;
    renderIntentList();
    selectIntent(name);
    var item = els.intentList.querySelector('[data-intent="' + cssEscape(name) + '"]');
    if (item) { item.scrollIntoView({ block: 'nearest' }); item.focus(); }
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, '\\$&');
  }

  function renderIntentDetail() {
    var entry = state.intent ? findIntent(state.intent) : null;
    els.intentPlaceholder.hidden = !!entry;
    els.intentDetail.hidden = !entry;
    if (!entry) return;
    els.intentTitle.textContent = String(entry.intent);
    els.intentMissingNote.hidden = !isMissing(entry);
    if (isMissing(entry)) setText(els.intentMissingNote, 'intent_missing_note', { langs: missingLabel(entry.missing) });
    LANGS.forEach(function (lang) { renderExampleColumn(entry, lang); });
  }

  function renderExampleColumn(entry, lang) {
    var suffix = lang === 'zh' ? 'Zh' : 'En';
    var list = els['examples' + suffix];
    var examples = examplesOf(entry, lang);
    els['examples' + suffix + 'Count'].textContent = String(examples.length);
    list.replaceChildren();
    examples.forEach(function (ex) { list.appendChild(renderExample(entry.intent, lang, ex)); });
    els['examples' + suffix + 'Empty'].hidden = examples.length > 0;
    fillProblems(els['examples' + suffix + 'Problems'], state.exampleProblems[lang], jumpToProblem);
  }

  function renderExample(intent, lang, ex) {
    var li = el('li', 'example');
    li.setAttribute('data-testid', 'example-' + lang);
    if (lang === 'en') li.lang = 'en';
    // The text node holds only the example; the file is drawn from data-file by CSS, so the
    // item's text stays the example itself.
    var text = el('span', 'example__text', ex && ex.text);
    li.appendChild(text);
    if (ex && ex.file) {
      var file = el('span', 'example__file');
      file.setAttribute('data-file', String(ex.file));
      file.title = String(ex.file);
      li.appendChild(file);
    }
    var remove = el('button', 'icon-btn icon-btn--remove');
    remove.type = 'button';
    remove.setAttribute('data-testid', 'remove-example-' + lang);
    remove.setAttribute('data-i18n-aria-label', 'remove_example');
    remove.setAttribute('data-i18n-title', 'remove_example');
    remove.setAttribute('aria-label', t('remove_example'));
    remove.title = t('remove_example');
    remove.addEventListener('click', function () { removeExample(intent, lang, String(ex.text), remove, li); });
    li.appendChild(remove);
    return li;
  }

  function addExample(lang) {
    var suffix = lang === 'zh' ? 'Zh' : 'En';
    var input = els['addExample' + suffix];
    var button = els['addExample' + suffix + 'Submit'];
    var intent = state.intent;
    var text = input.value.trim();
    if (!intent) return;
    if (!text) { input.focus(); return; }
    var epoch = state.epoch;
    button.disabled = true;
    state.exampleProblems[lang] = [];
    api('POST', '/api/ops/examples', { intent: intent, language: lang, text: text }).then(function (data) {
      if (epoch !== state.epoch) return;
      var entry = findIntent(intent);
      if (entry) {
        if (!Array.isArray(entry[lang])) entry[lang] = [];
        entry[lang].push({ text: text, file: data && data.path });
        entry.missing = (entry.missing || []).filter(function (l) { return l !== lang; });
      }
      if (input.value.trim() === text) input.value = '';
      notify('example_added', { text: text, intent: intent });
      dataChanged(data && data.path);
      renderIntentList();
      renderIntentDetail();
      renderTabBadges();
      loadIntents(epoch);
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) { sessionLost(); return; }
      state.exampleProblems[lang] = problemsWithPath(err);
      renderIntentDetail();
      showToast(errorText(err));
    }).then(function () {
      button.disabled = false;
      if (state.intent === intent) input.focus();
    });
  }

  function removeExample(intent, lang, text, button, li) {
    var epoch = state.epoch;
    button.disabled = true;
    li.classList.add('is-removing');
    api('POST', '/api/ops/examples/remove', { intent: intent, language: lang, text: text }).then(function (data) {
      if (epoch !== state.epoch) return;
      var entry = findIntent(intent);
      if (entry && Array.isArray(entry[lang])) {
        entry[lang] = entry[lang].filter(function (ex) { return String(ex.text) !== text; });
      }
      notify('example_removed', { text: text });
      dataChanged(data && data.path);
      renderIntentList();
      renderIntentDetail();
      loadIntents(epoch);
    }, function (err) {
      if (epoch !== state.epoch) return;
      li.classList.remove('is-removing');
      button.disabled = false;
      if (isAuthError(err)) { sessionLost(); return; }
      state.exampleProblems[lang] = problemsWithPath(err);
      renderIntentDetail();
      showToast(errorText(err));
    });
  }

  /** A refused edit's problems, each with the file they are in (the answer's `path`). */
  function problemsWithPath(err) {
    var path = err instanceof ui.ApiError && err.body && typeof err.body.path === 'string' ? err.body.path : null;
    return (problemsOf(err) || []).map(function (p) {
      var copy = {};
      Object.keys(p).forEach(function (k) { copy[k] = p[k]; });
      copy.path = path;
      return copy;
    });
  }

  /** Jump from a problem found elsewhere to its line in the file editor. */
  function jumpToProblem(line, column, p) {
    if (p && p.path) goToFileLine(p.path, line, column);
  }

  /**
   * A data file changed on the server through another view: refresh what shows it.
   * An open editor without edits reloads; one with edits keeps them (saving will report the conflict).
   */
  function dataChanged(path) {
    state.filesStale = true;
    state.audit = null;
    if (path && state.file && state.file.path === path && !state.drafts[path]) {
      state.file = null;
      openFile(path);
    }
  }

  /* ------------------------------------------------------------- responses */

  function respKey(name, lang) { return name + '\n' + lang; }

  function responseText(r, lang) {
    var key = respKey(r.name, lang);
    if (Object.prototype.hasOwnProperty.call(state.respDrafts, key)) return state.respDrafts[key];
    return r[lang] == null ? '' : String(r[lang]);
  }

  function responseMissing(r) {
    return LANGS.some(function (lang) { return r[lang] == null || !String(r[lang]).trim(); });
  }

  function placeholders(text) {
    var found = {};
    String(text || '').replace(/\{(\w+)\}/g, function (m, name) { found[name] = true; return m; });
    return found;
  }

  /** Placeholders that one language uses and the other does not, e.g. ["name"]. */
  function placeholderMismatch(r) {
    var zh = placeholders(responseText(r, 'zh'));
    var en = placeholders(responseText(r, 'en'));
    var out = [];
    Object.keys(zh).forEach(function (k) { if (!en[k]) out.push(k); });
    Object.keys(en).forEach(function (k) { if (!zh[k]) out.push(k); });
    return out.sort();
  }

  function loadResponses(epoch) {
    state.respLoading = true;
    renderResponses();
    return api('GET', '/api/ops/responses').then(function (data) {
      if (epoch !== state.epoch) return;
      state.responses = (data && Array.isArray(data.responses)) ? data.responses : [];
      state.respVersion = data ? data.version : null;
      state.respStale = false;
      els.responsesConflict.hidden = true;
      // Drop drafts that now equal the saved text.
      Object.keys(state.respDrafts).forEach(function (key) {
        var parts = key.split('\n');
        var r = findResponse(parts[0]);
        if (!r || String(r[parts[1]] == null ? '' : r[parts[1]]) === state.respDrafts[key]) delete state.respDrafts[key];
      });
    }, failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      state.respLoading = false;
      renderResponses();
      renderTabBadges();
    });
  }

  function findResponse(name) {
    var list = state.responses || [];
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i];
    return null;
  }

  function renderResponses() {
    var all = state.responses || [];
    var query = els.responseSearch.value.trim().toLowerCase();
    var onlyMissing = els.responseOnlyMissing.checked;
    var shown = all.filter(function (r) {
      if (onlyMissing && !responseMissing(r)) return false;
      if (!query) return true;
      return String(r.name).toLowerCase().indexOf(query) >= 0 || LANGS.some(function (lang) {
        return responseText(r, lang).toLowerCase().indexOf(query) >= 0;
      });
    });
    els.responseCount.textContent = String(all.length);
    els.responseMissingCount.textContent = String(all.filter(responseMissing).length);
    els.responseList.replaceChildren();
    shown.forEach(function (r) { els.responseList.appendChild(renderResponseCard(r)); });
    var loading = state.respLoading && !state.responses;
    els.responseLoading.hidden = !loading;
    els.responseEmpty.hidden = loading || shown.length > 0;
    if (!shown.length) setText(els.responseEmpty, all.length ? 'responses_no_match' : 'responses_empty');
  }

  function renderResponseCard(r) {
    var name = String(r.name);
    var card = el('article', 'card resp');
    card.setAttribute('data-testid', 'response-' + name);
    card.setAttribute('data-name', name);
    var head = el('header', 'resp__head');
    head.appendChild(el('code', 'resp__name', name));
    var warnings = el('span', 'resp__warnings');
    head.appendChild(warnings);
    if (isNum(r.line)) {
      var open = tEl('button', 'link resp__open', 'open_in_file', { line: r.line });
      open.type = 'button';
      open.addEventListener('click', function () { goToFileLine(RESPONSES_FILE, r.line, 1); });
      head.appendChild(open);
    }
    card.appendChild(head);
    var grid = el('div', 'resp__langs');
    var parts = {};
    LANGS.forEach(function (lang) {
      var key = respKey(name, lang);
      var box = el('div', 'resp__lang');
      var id = 'resp-' + name.replace(/[^\w-]/g, '_') + '-' + lang;
      var label = tEl('label', 'resp__label', 'lang_name_' + lang);
      label.htmlFor = id;
      var area = el('textarea', 'field__input resp__text');
      area.id = id;
      area.rows = 2;
      area.value = responseText(r, lang);
      area.setAttribute('data-testid', 'response-' + lang);
      if (lang === 'en') area.lang = 'en';
      var problems = el('ul', 'problems');
      problems.setAttribute('data-testid', 'response-problems');
      fillProblems(problems, state.respProblems[key], jumpToProblem);
      var bar = el('div', 'resp__bar');
      var status = el('span', 'resp__state');
      var revert = tEl('button', 'btn btn--ghost btn--small', 'revert');
      revert.type = 'button';
      var save = el('button', 'btn btn--primary btn--small');
      save.type = 'button';
      save.setAttribute('data-testid', 'response-' + lang + '-save');
      save.appendChild(el('span', 'spinner spinner--small btn__spinner')).setAttribute('aria-hidden', 'true');
      save.appendChild(tEl('span', null, 'save'));
      bar.appendChild(status);
      bar.appendChild(revert);
      bar.appendChild(save);
      box.appendChild(label);
      box.appendChild(area);
      box.appendChild(problems);
      box.appendChild(bar);
      grid.appendChild(box);
      parts[lang] = { area: area, status: status, save: save, revert: revert };

      area.addEventListener('input', function () {
        var saved = r[lang] == null ? '' : String(r[lang]);
        if (area.value === saved) delete state.respDrafts[key]; else state.respDrafts[key] = area.value;
        update();
      });
      area.addEventListener('keydown', function (e) {
        if ((e.ctrlKey || e.metaKey) && !e.altKey && String(e.key).toLowerCase() === 's') {
          e.preventDefault();
          saveResponse(r, lang);
        }
      });
      revert.addEventListener('click', function () {
        delete state.respDrafts[key];
        delete state.respProblems[key];
        area.value = r[lang] == null ? '' : String(r[lang]);
        fillProblems(problems, null, null);
        update();
        area.focus();
      });
      save.addEventListener('click', function () { saveResponse(r, lang); });
    });
    card.appendChild(grid);

    function update() {
      warnings.replaceChildren();
      LANGS.forEach(function (lang) {
        if (!responseText(r, lang).trim()) {
          var b = badge('missing_langs', 'badge--warn', { langs: { $t: 'lang_short_' + lang } });
          b.setAttribute('data-testid', 'response-missing');
          warnings.appendChild(b);
        }
      });
      var mismatch = placeholderMismatch(r);
      if (mismatch.length) {
        var m = badge('placeholder_mismatch', 'badge--warn', { names: mismatch.join(', ') });
        m.setAttribute('data-testid', 'response-placeholders');
        warnings.appendChild(m);
      }
      var dirtyAny = false;
      LANGS.forEach(function (lang) {
        var key = respKey(name, lang);
        var dirty = Object.prototype.hasOwnProperty.call(state.respDrafts, key);
        var saving = !!state.respSaving[key];
        var p = parts[lang];
        dirtyAny = dirtyAny || dirty;
        p.area.classList.toggle('is-dirty', dirty);
        p.save.disabled = !dirty || saving;
        p.revert.hidden = !dirty || saving;
        setBusy(p.save, saving);
        if (saving) setText(p.status, 'saving');
        else if (dirty) setText(p.status, 'unsaved');
        else clearText(p.status);
      });
      card.classList.toggle('is-dirty', dirtyAny);
    }
    update();
    return card;
  }

  function saveResponse(r, lang) {
    var key = respKey(r.name, lang);
    if (!Object.prototype.hasOwnProperty.call(state.respDrafts, key) || state.respSaving[key]) return;
    var text = state.respDrafts[key];
    var epoch = state.epoch;
    state.respSaving[key] = true;
    delete state.respProblems[key];
    replaceResponseCard(r);
    api('PUT', '/api/ops/responses/' + encodeURIComponent(r.name),
        { language: lang, text: text, previous: r[lang] == null ? '' : String(r[lang]),
          version: state.respVersion }).then(function (data) {
      if (epoch !== state.epoch) return;
      if (data && data.version != null) state.respVersion = data.version;
      r[lang] = text;
      if (state.respDrafts[key] === text) delete state.respDrafts[key];
      notify('response_saved', { name: r.name, lang: { $t: 'lang_name_' + lang } });
      state.filesStale = true;
      state.audit = null;
      renderTabBadges();
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) { sessionLost(); return; }
      if (errorCode(err) === 'edit_conflict') els.responsesConflict.hidden = false;
      state.respProblems[key] = problemsWithPath(err);
      showToast(errorText(err));
    }).then(function () {
      if (epoch !== state.epoch) return;
      delete state.respSaving[key];
      replaceResponseCard(r);
    });
  }

  function replaceResponseCard(r) {
    var old = els.responseList.querySelector('[data-name="' + cssEscape(r.name) + '"]');
    if (!old) return;
    var focused = document.activeElement;
    var refocus = focused && old.contains(focused) ? focused.getAttribute('data-testid') : null;
    var card = renderResponseCard(r);
    old.parentNode.replaceChild(card, old);
    if (refocus) {
      // The focused save button is disabled while saving: fall back to its text box.
      var again = card.querySelector('[data-testid="' + refocus + '"]');
      var area = card.querySelector('[data-testid="' + refocus.replace(/-save$/, '') + '"]');
      if (again && !again.disabled) again.focus();
      else if (area) area.focus();
    }
  }

  /* ----------------------------------------------------------------- files */

  function loadFiles(epoch) {
    state.filesLoading = true;
    renderFileList();
    return api('GET', '/api/ops/files').then(function (data) {
      if (epoch !== state.epoch) return;
      state.files = (data && Array.isArray(data.files)) ? data.files : [];
      state.filesStale = false;
    }, failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      state.filesLoading = false;
      renderFileList();
    });
  }

  function renderFileList() {
    var all = state.files || [];
    var query = els.fileSearch.value.trim().toLowerCase();
    var shown = all.filter(function (f) { return !query || String(f.path).toLowerCase().indexOf(query) >= 0; });
    els.fileCount.textContent = String(all.length);
    els.fileList.replaceChildren();
    var kinds = KINDS.slice();
    shown.forEach(function (f) { if (kinds.indexOf(f.kind) < 0) kinds.push(f.kind); });
    kinds.forEach(function (kind) {
      var group = shown.filter(function (f) { return f.kind === kind; });
      if (!group.length) return;
      var section = el('section', 'file-group');
      var title = el('h3', 'file-group__title');
      setCode(title, 'kind.', kind);
      section.appendChild(title);
      var ul = el('ul', 'item-list');
      group.sort(function (a, b) { return String(a.path).localeCompare(String(b.path)); });
      group.forEach(function (f) { ul.appendChild(renderFileItem(f)); });
      section.appendChild(ul);
      els.fileList.appendChild(section);
    });
    var loading = state.filesLoading && !state.files;
    els.fileLoading.hidden = !loading;
    els.fileEmpty.hidden = loading || shown.length > 0;
    if (!shown.length) setText(els.fileEmpty, all.length ? 'files_no_match' : 'files_empty');
    renderTabBadges();
  }

  function renderFileItem(f) {
    var path = String(f.path);
    var li = el('li');
    var b = el('button', 'item item--file');
    b.type = 'button';
    b.setAttribute('data-testid', 'file-item');
    b.setAttribute('data-path', path);
    b.title = path;
    if (state.file && state.file.path === path) {
      b.classList.add('is-selected');
      b.setAttribute('aria-current', 'true');
    }
    var slash = path.lastIndexOf('/');
    var top = el('span', 'item__top');
    top.appendChild(el('span', 'item__name item__name--mono', path.slice(slash + 1)));
    if (f.language) top.appendChild(langBadge(f.language));
    if (state.drafts[path]) {
      var dot = el('span', 'dirty-dot');
      dot.setAttribute('data-i18n-title', 'unsaved');
      dot.title = t('unsaved');
      top.appendChild(dot);
    }
    b.appendChild(top);
    if (slash > 0) b.appendChild(el('span', 'item__meta item__meta--mono', path.slice(0, slash + 1)));
    b.addEventListener('click', function () { openFile(path); });
    li.appendChild(b);
    return li;
  }

  /** Open `path` in the Files tab with the caret on `line` (once it has loaded). */
  function goToFileLine(path, line, column) {
    openTab('files', false);
    if (state.file && state.file.path === path && !state.file.loading) {
      goToLine(line, column || 1);
      return;
    }
    state.pendingLine = { path: path, line: line, column: column || 1 };
    openFile(path);
  }

  function isDirty() {
    return !!(state.file && els.editorText.value !== state.file.text);
  }

  function openFile(path) {
    if (state.file && state.file.path === path && !state.file.loading) { els.editorText.focus(); return; }
    keepDraft();
    els.editorText.value = '';
    var epoch = state.epoch;
    var token = ++state.fileToken;
    if (state.checkTimer) { clearTimeout(state.checkTimer); state.checkTimer = null; }
    state.checkToken++;
    state.file = { path: path, kind: null, language: null, text: '', version: null, loading: true };
    state.problems = [];
    state.conflict = null;
    state.checkState = null;
    state.fileRestored = false;
    renderFileList();
    renderFileEditor();
    els.fileEditor.classList.add('is-loading');
    api('GET', filePath(path)).then(function (data) {
      if (epoch !== state.epoch || token !== state.fileToken) return;
      var draft = state.drafts[path];
      state.file = {
        path: path,
        kind: data.kind,
        language: data.language,
        text: String(data.text == null ? '' : data.text),
        version: draft ? draft.version : data.version
      };
      state.fileRestored = !!draft;
      els.editorText.value = draft ? draft.text : state.file.text;
      els.editorText.scrollTop = 0;
      els.editorText.scrollLeft = 0;
      if (draft && draft.version !== data.version) {
        // Changed on the server while these edits waited: say so now rather than at save time.
        state.conflict = { current_version: data.version };
      }
      renderFileEditor();
      renderFileList();
      runCheck();
      var pending = state.pendingLine;
      state.pendingLine = null;
      if (pending && pending.path === path) goToLine(pending.line, pending.column);
    }, function (err) {
      if (epoch !== state.epoch || token !== state.fileToken) return;
      state.pendingLine = null;
      state.file = null;
      renderFileEditor();
      renderFileList();
      failed(epoch)(err);
    }).then(function () {
      if (token === state.fileToken) els.fileEditor.classList.remove('is-loading');
    });
  }

  /** Remember the open file's unsaved edits (or forget them once the text equals the saved one). */
  function keepDraft() {
    var f = state.file;
    if (!f || f.loading) return;
    var text = els.editorText.value;
    if (text === f.text) delete state.drafts[f.path];
    else state.drafts[f.path] = { text: text, version: f.version };
  }

  function renderFileEditor() {
    var f = state.file;
    els.filePlaceholder.hidden = !!f;
    els.fileEditor.hidden = !f;
    if (!f) return;
    els.filePath.textContent = f.path;
    if (f.kind) { setCode(els.fileKind, 'kind.', f.kind); els.fileKind.hidden = false; } else els.fileKind.hidden = true;
    els.fileLang.hidden = !f.language;
    if (f.language) setText(els.fileLang, 'lang_short_' + f.language);
    if (f.version != null) setText(els.fileVersion, 'version_label', { version: shortVersion(f.version) });
    else clearText(els.fileVersion);
    els.fileVersion.title = f.version != null ? String(f.version) : '';
    els.editorText.readOnly = !!f.loading;
    els.fileRestored.hidden = !state.fileRestored;
    renderFileState();
    renderConflict();
    renderProblems();
  }

  function renderFileState() {
    var f = state.file;
    if (!f) return;
    var dirty = isDirty();
    els.fileEditor.classList.toggle('is-dirty', dirty);
    els.fileState.setAttribute('data-state', state.fileSaving ? 'saving' : (dirty ? 'unsaved' : 'saved'));
    if (f.loading) setText(els.fileState, 'loading');
    else if (state.fileSaving) setText(els.fileState, 'saving');
    else setText(els.fileState, dirty ? 'unsaved' : 'saved');
    els.fileState.classList.toggle('is-dirty', dirty);
    els.fileSave.disabled = !!f.loading || state.fileSaving || !dirty;
    setBusy(els.fileSave, state.fileSaving);
    els.fileRevert.disabled = !!f.loading || state.fileSaving || !dirty;
    renderCheckState();
  }

  function renderCheckState() {
    var s = state.checkState;
    els.checkState.setAttribute('data-state', s || '');
    els.checkState.className = 'check-state' + (s ? ' check-state--' + s : '');
    if (!s) { clearText(els.checkState); return; }
    if (s === 'problems') setText(els.checkState, 'check_problems', { count: state.problems.length });
    else setText(els.checkState, 'check_' + s);
  }

  function renderConflict() {
    var c = state.conflict;
    els.fileConflict.hidden = !c;
    if (!c) return;
    if (c.current_version == null) setText(els.fileConflictText, 'conflict_deleted');
    else setText(els.fileConflictText, 'conflict_text', { version: shortVersion(c.current_version) });
    els.fileConflictOverwrite.disabled = state.fileSaving;
    els.fileConflictLoad.disabled = state.fileSaving;
  }

  function renderProblems() {
    fillProblems(els.fileProblems, state.problems, goToLine);
    els.fileProblems.hidden = false;
    els.problemCount.textContent = String(state.problems.length);
    els.problemCount.classList.toggle('count--danger', state.problems.length > 0);
    els.fileProblemsEmpty.hidden = state.problems.length > 0;
    renderGutter(true);
  }

  function lineCount(text) {
    var n = 1;
    for (var i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
    return n;
  }

  function renderGutter(force) {
    var lines = lineCount(els.editorText.value);
    var marks = {};
    state.problems.forEach(function (p) { if (isNum(Number(p.line))) marks[Number(p.line)] = true; });
    var key = lines + '|' + Object.keys(marks).join(',');
    if (!force && key === state.gutterKey) return;
    state.gutterKey = key;
    var frag = document.createDocumentFragment();
    for (var i = 1; i <= lines; i++) {
      var d = el('div', marks[i] ? 'is-problem' : null, i);
      d.setAttribute('data-line', String(i));
      frag.appendChild(d);
    }
    els.editorGutter.replaceChildren(frag);
    syncGutter();
  }

  function syncGutter() { els.editorGutter.scrollTop = els.editorText.scrollTop; }

  /** Put the caret on a 1-based line and column, scroll it into view and flash its number. */
  function goToLine(line, column) {
    var area = els.editorText;
    var text = area.value;
    var start = 0;
    for (var i = 1; i < line; i++) {
      var nl = text.indexOf('\n', start);
      if (nl < 0) break;
      start = nl + 1;
    }
    var end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    var caret = Math.min(start + Math.max(0, (column || 1) - 1), end);
    area.focus({ preventScroll: true });
    area.setSelectionRange(caret, caret);
    area.scrollTop = Math.max(0, (line - 1) * LINE_PX - area.clientHeight / 3);
    syncGutter();
    var mark = els.editorGutter.querySelector('[data-line="' + line + '"]');
    if (mark) {
      mark.classList.remove('is-flash');
      void mark.offsetWidth; // restart the animation
      mark.classList.add('is-flash');
    }
  }

  function onEditorInput() {
    if (!state.file || state.file.loading) return;
    keepDraft();
    var wasListed = els.fileList.querySelector('.item.is-selected .dirty-dot') !== null;
    if (wasListed !== !!state.drafts[state.file.path]) renderFileList();
    renderGutter(false);
    renderFileState();
    scheduleCheck();
  }

  function scheduleCheck() {
    if (state.checkTimer) clearTimeout(state.checkTimer);
    state.checkToken++;
    state.checkState = 'pending';
    renderCheckState();
    state.checkTimer = setTimeout(function () {
      state.checkTimer = null;
      runCheck();
    }, CHECK_DEBOUNCE_MS);
  }

  /** The live check: the problems the server would refuse the text for, without saving it. */
  function runCheck() {
    var f = state.file;
    if (!f || f.loading) return;
    var epoch = state.epoch;
    var token = ++state.checkToken;
    var path = f.path;
    state.checkState = 'running';
    renderCheckState();
    api('POST', '/api/ops/check', { path: path, text: els.editorText.value }).then(function (data) {
      if (epoch !== state.epoch || token !== state.checkToken || !state.file || state.file.path !== path) return;
      state.problems = (data && Array.isArray(data.problems)) ? data.problems : [];
      state.checkState = state.problems.length ? 'problems' : 'ok';
      renderProblems();
      renderCheckState();
    }, function (err) {
      if (epoch !== state.epoch || token !== state.checkToken) return;
      if (isAuthError(err)) { sessionLost(); return; }
      state.checkState = 'failed';
      renderCheckState();
    });
  }

  function saveFile(overwriteVersion) {
    var f = state.file;
    if (!f || f.loading || state.fileSaving) return;
    if (!isDirty() && overwriteVersion === undefined) return;
    var epoch = state.epoch;
    var path = f.path;
    var text = els.editorText.value;
    var version = overwriteVersion !== undefined ? overwriteVersion : f.version;
    if (state.checkTimer) { clearTimeout(state.checkTimer); state.checkTimer = null; }
    state.checkToken++;
    state.fileSaving = true;
    renderFileState();
    renderConflict();
    api('PUT', filePath(path), { text: text, version: version }).then(function (data) {
      if (epoch !== state.epoch || !state.file || state.file.path !== path) return;
      state.file.text = text;
      state.file.version = data && data.version != null ? data.version : null;
      state.conflict = null;
      state.fileRestored = false;
      state.problems = [];
      state.checkState = 'ok';
      keepDraft();
      notify('file_saved', { path: path });
      // The views built from the files are out of date now.
      state.intentsStale = true;
      state.respStale = true;
      state.audit = null;
      if (els.editorText.value !== text) scheduleCheck();
    }, function (err) {
      if (epoch !== state.epoch || !state.file || state.file.path !== path) return;
      if (isAuthError(err)) { sessionLost(); return; }
      var code = errorCode(err);
      if (code === 'edit_conflict') {
        state.conflict = { current_version: err.body ? err.body.current_version : null };
      } else if (problemsOf(err)) {
        state.problems = problemsOf(err);
        state.checkState = state.problems.length ? 'problems' : 'ok';
      }
      showToast(code === 'invalid_file' && problemsOf(err)
        ? t('file_invalid', { count: problemsOf(err).length }) : errorText(err));
    }).then(function () {
      if (epoch !== state.epoch) return;
      state.fileSaving = false;
      renderFileEditor();
      renderFileList();
    });
  }

  function revertFile() {
    var f = state.file;
    if (!f || f.loading) return;
    els.editorText.value = f.text;
    delete state.drafts[f.path];
    state.fileRestored = false;
    renderFileEditor();
    renderFileList();
    runCheck();
    els.editorText.focus();
  }

  /** After a conflict: drop the edits and load the file as it is on the server now. */
  function loadTheirs() {
    var f = state.file;
    if (!f) return;
    delete state.drafts[f.path];
    state.file = null;
    openFile(f.path);
  }

  /* --------------------------------------------------------- train & test */

  function isRunning() { return !!(state.job && state.job.status === 'running'); }

  function loadJob(epoch) {
    return api('GET', '/api/ops/train').then(function (data) {
      if (epoch !== state.epoch) return;
      state.pollErrors = 0;
      setJob(data ? data.job : null);
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) { sessionLost(); return; }
      // A failed poll is retried by the next one: one toast per run of failures.
      if (state.pollErrors++ === 0) showToast(errorText(err));
    });
  }

  function setJob(job) {
    var before = state.job;
    state.job = job && typeof job === 'object' ? job : null;
    var justEnded = before && before.status === 'running' && state.job &&
      state.job.job_id === before.job_id && state.job.status !== 'running';
    if (justEnded) {
      if (state.job.status === 'succeeded') notify('train_succeeded', { model: state.job.candidate || '' });
      else showToast(t('train_failed_toast', { step: jobErrorLabel(state.job) }));
      state.audit = null;
      loadModels(state.epoch);
    }
    if (before && state.job && before.job_id !== state.job.job_id) state.blocked = null;
    renderJob();
    if (isRunning()) schedulePoll();
    else stopPolling();
  }

  function schedulePoll() {
    if (state.pollTimer) return;
    var epoch = state.epoch;
    state.pollTimer = setTimeout(function () {
      state.pollTimer = null;
      if (epoch !== state.epoch) return;
      loadJob(epoch).then(function () {
        // A failed poll leaves the job "running": keep polling.
        if (epoch === state.epoch && isRunning()) schedulePoll();
      });
    }, POLL_MS);
  }

  function stopPolling() {
    if (state.pollTimer) { clearTimeout(state.pollTimer); state.pollTimer = null; }
  }

  function startTraining() {
    if (isRunning() || state.publishing || state.rollingBack) return;
    var epoch = state.epoch;
    els.train.disabled = true;
    setBusy(els.train, true);
    api('POST', '/api/ops/train').then(function (data) {
      if (epoch !== state.epoch) return;
      state.blocked = null;
      state.audit = null;
      setJob(data && data.job);
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (errorCode(err) === 'training_busy' && err.body && err.body.job) setJob(err.body.job);
      failed(epoch)(err);
    }).then(function () {
      if (epoch !== state.epoch) return;
      setBusy(els.train, false);
      renderJob();
    });
  }

  function jobStep(job) {
    var step = job.progress && job.progress.step ? String(job.progress.step) : 'queued';
    return job.status === 'failed' ? 'failed' : step;
  }

  /** The step a failed job stopped at, or why it stopped (interrupted, cancelled, internal). */
  function jobErrorLabel(job) {
    var e = String(job.error || '');
    return has('job_error.' + e) ? { $t: 'job_error.' + e } : (e || { $t: 'job_error.unknown' });
  }

  function renderJob() {
    var job = state.job;
    var busy = state.publishing || state.rollingBack;
    els.train.disabled = isRunning() || busy || els.train.classList.contains('is-busy');
    renderTabBadges();
    els.jobEmpty.hidden = !!job;
    els.jobBody.hidden = !job;
    if (job) {
      els.trainStatus.setAttribute('data-status', String(job.status));
      els.trainStatus.setAttribute('data-job', String(job.job_id));
    } else {
      els.trainStatus.removeAttribute('data-status');
      els.trainStatus.removeAttribute('data-job');
    }
    els.trainStatus.className = 'job' + (job ? ' job--' + job.status : '');
    if (job) renderJobBody(job);
    renderReport();
    renderPublish();
  }

  function renderJobBody(job) {
    var p = job.progress || {};
    var step = jobStep(job);
    els.jobStatus.className = 'status-chip status-chip--' + job.status;
    setCode(els.jobStatus, 'status.', job.status);
    setCode(els.trainStep, 'step.', step);
    els.trainStep.setAttribute('data-step', step);
    setText(els.jobMeta, 'job_meta', { job: String(job.job_id), by: String(job.by || '') });
    setText(els.jobElapsed, 'elapsed', { time: duration(job.elapsed_s) });

    // The stepper: done, current (or failed) and to-do steps.
    var failedAt = job.status === 'failed' ? STEPS.indexOf(String(job.error)) : -1;
    var current = job.status === 'succeeded' ? STEPS.length : STEPS.indexOf(step);
    if (job.status === 'failed' && failedAt < 0) failedAt = Math.max(0, STEPS.indexOf(String(p.step)));
    els.jobStepper.replaceChildren();
    STEPS.forEach(function (s, i) {
      var li = el('li', 'stepper__step');
      var st = 'todo';
      if (job.status === 'failed') st = i < failedAt ? 'done' : (i === failedAt ? 'failed' : 'todo');
      else if (i < current || (s === 'done' && job.status === 'succeeded')) st = 'done';
      else if (i === current) st = 'current';
      li.classList.add('is-' + st);
      li.setAttribute('data-state', st);
      if (st === 'current') li.setAttribute('aria-current', 'step');
      li.appendChild(el('span', 'stepper__dot'));
      li.appendChild(setCode(el('span', 'stepper__label'), 'step.', s));
      els.jobStepper.appendChild(li);
    });

    var showComponent = jobRunning(job) && p.component;
    els.jobComponent.hidden = !showComponent;
    if (showComponent) setText(els.jobComponent, 'component', { name: String(p.component) });
    var epochs = Number(p.epochs) || 0;
    var showEpoch = jobRunning(job) && epochs > 0;
    els.jobEpoch.hidden = !showEpoch;
    if (showEpoch) setText(els.jobEpoch, 'epoch', { epoch: Number(p.epoch) || 0, epochs: epochs });
    els.jobDetail.hidden = !showComponent && !showEpoch;

    var pct = null;
    if (job.status === 'succeeded') pct = 100;
    else if (showEpoch) pct = Math.max(0, Math.min(100, Math.round((Number(p.epoch) || 0) * 100 / epochs)));
    var indeterminate = jobRunning(job) && pct === null;
    els.jobProgress.hidden = job.status === 'failed';
    els.jobProgress.classList.toggle('is-indeterminate', indeterminate);
    els.jobProgress.classList.toggle('is-done', job.status === 'succeeded');
    els.jobProgressFill.style.width = indeterminate ? '' : (pct || 0) + '%';
    if (pct === null) els.jobProgress.removeAttribute('aria-valuenow');
    else els.jobProgress.setAttribute('aria-valuenow', String(pct));

    els.jobFailure.hidden = job.status !== 'failed';
    if (job.status === 'failed') {
      setText(els.jobFailureTitle, 'failed_at', { step: jobErrorLabel(job) });
      els.jobOutput.textContent = String(job.output || '');
      els.jobOutput.hidden = !job.output;
    }
  }

  function jobRunning(job) { return !!(job && job.status === 'running'); }

  function renderTrainUnsaved() {
    els.trainUnsaved.hidden = !hasUnsaved();
  }

  /* ---------------------------------------------------------------- validate */

  function runValidate() {
    if (state.validating) return;
    var epoch = state.epoch;
    state.validating = true;
    state.validation = null;
    renderValidation();
    api('POST', '/api/ops/validate').then(function (data) {
      if (epoch !== state.epoch) return;
      state.validation = {
        ok: !!(data && data.ok),
        messages: data && Array.isArray(data.messages) ? data.messages : []
      };
    }, failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      state.validating = false;
      renderValidation();
    });
  }

  function renderValidation() {
    els.validate.disabled = state.validating;
    setBusy(els.validate, state.validating);
    var box = els.validateResult;
    box.replaceChildren();
    var v = state.validation;
    box.hidden = !state.validating && !v;
    box.className = 'validate-result';
    box.removeAttribute('data-ok');
    if (state.validating) {
      box.appendChild(tEl('p', 'validate-result__title', 'validating'));
      return;
    }
    if (!v) return;
    box.setAttribute('data-ok', v.ok ? 'true' : 'false');
    box.classList.add(v.ok ? 'notice--ok' : 'notice--danger');
    box.classList.add('notice');
    box.appendChild(tEl('p', 'validate-result__title', v.ok
      ? (v.messages.length ? 'validate_ok_warnings' : 'validate_ok')
      : 'validate_failed', { count: v.messages.length }));
    if (v.messages.length) {
      var pre = el('pre', 'output output--light');
      pre.textContent = v.messages.join('\n');
      box.appendChild(pre);
    }
  }

  /* ---------------------------------------------------------------- report */

  function regressionKey(metric, language) { return String(metric) + '|' + String(language || ''); }

  function renderReport() {
    var job = state.job;
    var done = job && job.status === 'succeeded';
    var cand = done ? job.candidate_report : null;
    var serv = done ? job.serving_report : null;
    els.reportEmpty.hidden = !!cand;
    els.reportBody.hidden = !cand;
    if (done && !cand) setText(els.reportEmpty, 'report_missing');
    else setText(els.reportEmpty, 'report_none');
    if (!cand) {
      els.report.replaceChildren();
      els.reportExtra.replaceChildren();
      els.reportPlots.replaceChildren();
      return;
    }
    var regressed = {};
    (Array.isArray(job.regressions) ? job.regressions : []).forEach(function (r) {
      regressed[regressionKey(r.metric, r.language)] = true;
    });
    renderReportTable(cand, serv, regressed, job);
    var notes = [];
    if (!serv) notes.push(t('report_no_serving'));
    if (isNum(job.margin)) notes.push(t('report_margin', { margin: (job.margin * 100).toFixed(1) }));
    els.reportNote.textContent = notes.join(' ');
    els.reportNote.hidden = !notes.length;
    renderReportExtra(cand);
    renderPlots(cand, serv);
  }

  function renderReportTable(cand, serv, regressed, job) {
    var table = els.report;
    table.replaceChildren();
    var caption = tEl('caption', 'sr-only', 'report_caption');
    table.appendChild(caption);
    var thead = el('thead');
    var hr = el('tr');
    hr.appendChild(th('report_metric'));
    hr.appendChild(th('report_serving', serv ? serv.model || job.serving : null));
    hr.appendChild(th('report_candidate', cand.model || job.candidate));
    hr.appendChild(th('report_delta'));
    thead.appendChild(hr);
    table.appendChild(thead);
    var body = el('tbody');
    LANGS.forEach(function (lang) {
      var c = cand.nlu && cand.nlu[lang];
      var s = serv && serv.nlu ? serv.nlu[lang] : null;
      if (!c && !s) return;
      body.appendChild(groupRow('report_group_nlu', { lang: { $t: 'lang_name_' + lang }, n: c && isNum(c.n) ? c.n : '—' }));
      body.appendChild(metricRow('metric.accuracy', lang, 'accuracy', s, c, 'rate', regressed));
      body.appendChild(metricRow('metric.macro_f1', lang, 'macro_f1', s, c, 'rate', regressed));
      body.appendChild(metricRow('metric.fallbacks', lang, 'fallbacks', s, c, 'count', regressed));
    });
    var cs = cand.stories;
    var ss = serv ? serv.stories : null;
    if (cs || ss) {
      body.appendChild(groupRow('report_group_stories', null));
      body.appendChild(storiesRow(ss, cs, regressed));
    }
    table.appendChild(body);
  }

  function th(key, model) {
    var cell = el('th');
    cell.scope = 'col';
    cell.appendChild(tEl('span', null, key));
    if (model) cell.appendChild(el('code', 'report__model', model));
    return cell;
  }

  function groupRow(key, vars) {
    var tr = el('tr', 'report__group');
    var cell = tEl('th', null, key, vars);
    cell.colSpan = 4;
    cell.scope = 'colgroup';
    tr.appendChild(cell);
    return tr;
  }

  /** One figure: serving, candidate and the change; "rate" is better higher, "count" better lower. */
  function metricRow(labelKey, lang, field, s, c, kind, regressed) {
    var tr = el('tr');
    tr.setAttribute('data-metric', field);
    tr.setAttribute('data-language', lang);
    var sv = s && isNum(s[field]) ? s[field] : null;
    var cv = c && isNum(c[field]) ? c[field] : null;
    var isRegression = !!regressed[regressionKey(field, lang)];
    var label = el('th', 'report__label');
    label.scope = 'row';
    label.appendChild(tEl('span', null, labelKey));
    if (isRegression) label.appendChild(badge('regression', 'badge--danger'));
    tr.appendChild(label);
    tr.appendChild(el('td', 'num', kind === 'rate' ? percent(sv) : countText(sv, s)));
    tr.appendChild(el('td', 'num', kind === 'rate' ? percent(cv) : countText(cv, c)));
    tr.appendChild(deltaCell(sv, cv, kind));
    if (isRegression) { tr.classList.add('is-regression'); tr.setAttribute('data-regression', 'true'); }
    return tr;
  }

  function countText(v, scores) {
    if (v === null) return t('none_value');
    if (scores && isNum(scores.n) && scores.n > 0) {
      return t('count_of', { count: v, percent: (v * 100 / scores.n).toFixed(1) });
    }
    return String(v);
  }

  function storiesRow(s, c, regressed) {
    var tr = el('tr');
    tr.setAttribute('data-metric', 'stories');
    var isRegression = !!regressed[regressionKey('stories', '')];
    var label = el('th', 'report__label');
    label.scope = 'row';
    label.appendChild(tEl('span', null, 'metric.stories'));
    if (isRegression) label.appendChild(badge('regression', 'badge--danger'));
    tr.appendChild(label);
    tr.appendChild(el('td', 'num', storiesText(s)));
    tr.appendChild(el('td', 'num', storiesText(c)));
    tr.appendChild(deltaCell(storiesRate(s), storiesRate(c), 'rate'));
    if (isRegression) { tr.classList.add('is-regression'); tr.setAttribute('data-regression', 'true'); }
    return tr;
  }

  function storiesRate(x) {
    if (!x) return null;
    if (isNum(x.accuracy)) return x.accuracy;
    return isNum(x.total) && x.total > 0 && isNum(x.passed) ? x.passed / x.total : null;
  }

  function storiesText(x) {
    if (!x || !isNum(x.total)) return t('none_value');
    return t('stories_passed', { passed: x.passed, total: x.total });
  }

  function deltaCell(sv, cv, kind) {
    var td = el('td', 'num delta');
    if (sv === null || cv === null) { td.textContent = t('none_value'); return td; }
    var diff = cv - sv;
    var better = kind === 'count' ? diff < 0 : diff > 0;
    var same = kind === 'count' ? diff === 0 : Math.abs(diff) < 0.0005;
    td.classList.add(same ? 'is-same' : (better ? 'is-better' : 'is-worse'));
    var sign = diff > 0 ? '+' : (diff < 0 ? '−' : '±');
    if (kind === 'count') td.textContent = t('delta_count', { value: sign + Math.abs(diff) });
    else td.textContent = t('delta_pp', { value: sign + Math.abs(diff * 100).toFixed(1) });
    return td;
  }

  function renderReportExtra(cand) {
    var box = els.reportExtra;
    box.replaceChildren();
    LANGS.forEach(function (lang) {
      var c = cand.nlu && cand.nlu[lang];
      var confusions = c && Array.isArray(c.confusions) ? c.confusions : [];
      if (!confusions.length) return;
      var section = el('section', 'confusions');
      section.appendChild(tEl('h3', 'card__sub', 'confusions_title', { lang: { $t: 'lang_name_' + lang } }));
      var ul = el('ul', 'confusion-list');
      confusions.forEach(function (row) {
        if (!Array.isArray(row) || row.length < 3) return;
        var li = el('li', 'confusion');
        li.appendChild(intentLink(row[0]));
        li.appendChild(el('span', 'confusion__arrow', '→'));
        li.appendChild(intentLink(row[1]));
        li.appendChild(tEl('span', 'confusion__count', 'times', { count: row[2] }));
        ul.appendChild(li);
      });
      section.appendChild(ul);
      box.appendChild(section);
    });
    var failedStories = cand.stories && Array.isArray(cand.stories.failed) ? cand.stories.failed : [];
    if (failedStories.length) {
      var section = el('section', 'confusions');
      section.appendChild(tEl('h3', 'card__sub', 'failed_stories_title', { count: failedStories.length }));
      var ul = el('ul', 'failed-stories');
      failedStories.forEach(function (name) { ul.appendChild(el('li', null, name)); });
      section.appendChild(ul);
      box.appendChild(section);
    }
  }

  /** An intent name that opens it in the NLU tab (nlu_fallback and unknown names stay plain). */
  function intentLink(name) {
    var s = String(name);
    if (!findIntent(s)) return el('code', 'confusion__intent', s);
    var b = el('button', 'link confusion__intent', s);
    b.type = 'button';
    b.setAttribute('data-i18n-title', 'open_intent');
    b.title = t('open_intent');
    b.addEventListener('click', function () { goToIntent(s); });
    return b;
  }

  function renderPlots(cand, serv) {
    var box = els.reportPlots;
    box.replaceChildren();
    LANGS.forEach(function (lang) {
      var cImg = cand.images && cand.images[lang];
      var sImg = serv && serv.images ? serv.images[lang] : null;
      if (!cImg && !sImg) return;
      var row = el('section', 'plots__row');
      row.appendChild(tEl('h3', 'card__sub', 'plots_title', { lang: { $t: 'lang_name_' + lang } }));
      var grid = el('div', 'plots__grid');
      if (sImg) grid.appendChild(plot(serv.model, sImg, 'plot_serving', lang));
      if (cImg) grid.appendChild(plot(cand.model || (state.job && state.job.candidate), cImg, 'plot_candidate', lang));
      row.appendChild(grid);
      box.appendChild(row);
    });
  }

  function plot(model, image, key, lang) {
    var url = '/api/ops/reports/' + encodeURIComponent(modelBase(model)) + '/' + encodeURIComponent(image);
    var fig = el('figure', 'plot');
    fig.setAttribute('data-testid', 'confusion-plot');
    fig.setAttribute('data-language', lang);
    var link = el('a', 'plot__link');
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener';
    var img = el('img', 'plot__img');
    img.src = url;
    img.loading = 'lazy';
    img.alt = t('plot_alt', { which: { $t: key }, lang: { $t: 'lang_name_' + lang } });
    img.addEventListener('error', function () {
      link.hidden = true;
      fig.appendChild(tEl('p', 'empty', 'plot_missing'));
    });
    link.appendChild(img);
    fig.appendChild(link);
    var cap = el('figcaption', 'plot__caption');
    cap.appendChild(tEl('span', null, key));
    cap.appendChild(el('code', null, model));
    fig.appendChild(cap);
    return fig;
  }

  /* --------------------------------------------------------------- publish */

  function regressionText(r) {
    var vars = {
      metric: has('metric.' + r.metric) ? { $t: 'metric.' + r.metric } : String(r.metric),
      lang: isLang(r.language) ? { $t: 'lang_name_' + r.language } : '',
      serving: percent(Number(r.serving)),
      candidate: percent(Number(r.candidate))
    };
    return r.language ? t('regression_line', vars) : t('regression_line_all', vars);
  }

  function renderPublish() {
    var job = state.job;
    var ready = !!(job && job.status === 'succeeded' && job.candidate);
    els.publishEmpty.hidden = ready;
    els.publishForm.hidden = !ready;
    var busy = state.publishing || state.rollingBack;
    if (!ready) { els.publish.disabled = true; return; }
    els.publishCandidate.textContent = String(job.candidate);
    var serving = state.models ? state.models.serving : null;
    var isServing = serving === job.candidate;
    els.publishServingNote.hidden = !isServing;

    var blocked = state.blocked && state.blocked.model === job.candidate ? state.blocked : null;
    var known = blocked ? blocked.regressions : (Array.isArray(job.regressions) ? job.regressions : []);
    var needsReason = !isServing && (!!blocked || known.length > 0);
    els.publishBlocked.hidden = !needsReason;
    els.publishBlocked.className = 'notice ' + (blocked ? 'notice--danger' : 'notice--warn');
    if (needsReason) {
      if (blocked && blocked.untested) setText(els.publishBlockedTitle, 'publish_untested');
      else if (blocked) setText(els.publishBlockedTitle, 'publish_blocked', { count: known.length });
      else setText(els.publishBlockedTitle, 'publish_regressions_ahead', { count: known.length });
      els.publishRegressions.replaceChildren();
      known.forEach(function (r) {
        var li = el('li', 'regression', regressionText(r));
        li.setAttribute('data-testid', 'regression');
        els.publishRegressions.appendChild(li);
      });
      els.publishRegressions.hidden = !known.length;
    }
    els.publishReasonField.hidden = !needsReason;
    if (!needsReason) els.publishReasonError.hidden = true;
    els.publish.disabled = busy || isServing || isRunning();
    els.publishReason.disabled = busy;
    setBusy(els.publish, state.publishing);
    setText(els.publishLabel, state.publishing ? 'publishing' : (needsReason ? 'publish_override' : 'publish_run'));
    els.publish.classList.toggle('btn--danger', needsReason);
    els.publish.classList.toggle('btn--primary', !needsReason);
  }

  function publish() {
    var job = state.job;
    if (!job || job.status !== 'succeeded' || !job.candidate || state.publishing || state.rollingBack) return;
    var model = String(job.candidate);
    var reason = els.publishReason.value.trim();
    var needsReason = !els.publishReasonField.hidden;
    if (needsReason && !reason) {
      setText(els.publishReasonError, 'override_reason_required');
      els.publishReasonError.hidden = false;
      els.publishReason.focus();
      return;
    }
    els.publishReasonError.hidden = true;
    var epoch = state.epoch;
    state.publishing = true;
    renderTrainButtons();
    api('POST', '/api/ops/publish', { model: model, reason: reason }).then(function (data) {
      if (epoch !== state.epoch) return;
      state.blocked = null;
      els.publishReason.value = '';
      state.audit = null;
      if (state.models) state.models.serving = data && data.serving ? data.serving : model;
      notify('published', { model: (data && data.serving) || model });
      return loadModels(epoch);
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (errorCode(err) === 'publish_blocked') {
        state.blocked = {
          model: model,
          regressions: Array.isArray(err.body.regressions) ? err.body.regressions : [],
          untested: !!err.body.untested
        };
        showToast(errorText(err));
        renderPublish();
        els.publishReason.focus();
        return;
      }
      failed(epoch)(err);
    }).then(function () {
      if (epoch !== state.epoch) return;
      state.publishing = false;
      renderTrainButtons();
    });
  }

  function rollback() {
    var previous = state.models ? state.models.previous : null;
    if (!previous || state.publishing || state.rollingBack) return;
    var epoch = state.epoch;
    state.rollingBack = true;
    renderTrainButtons();
    api('POST', '/api/ops/rollback', { reason: els.rollbackReason.value.trim() }).then(function (data) {
      if (epoch !== state.epoch) return;
      els.rollbackReason.value = '';
      state.audit = null;
      if (state.models && data && data.serving) state.models.serving = data.serving;
      notify('rolled_back', { model: (data && data.serving) || previous });
      return loadModels(epoch);
    }, failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      state.rollingBack = false;
      renderTrainButtons();
    });
  }

  function renderTrainButtons() {
    renderJob();
    renderModels();
  }

  /* ---------------------------------------------------------------- models */

  function loadModels(epoch) {
    els.modelsRefresh.disabled = true;
    return api('GET', '/api/ops/models').then(function (data) {
      if (epoch !== state.epoch) return;
      state.models = data && typeof data === 'object' ? data : null;
      renderModels();
      renderPublish();
    }, failed(epoch)).then(function () {
      els.modelsRefresh.disabled = false;
    });
  }

  function renderModels() {
    var m = state.models;
    var busy = state.publishing || state.rollingBack;
    var serving = m && m.serving ? String(m.serving) : null;
    if (serving) { clearText(els.servingModel); els.servingModel.textContent = serving; }
    else setText(els.servingModel, m ? 'serving_none' : 'loading');
    els.servingModel.classList.toggle('is-none', !serving);

    // Which model each Rasa server has loaded, and whether they agree with the registry.
    var loaded = m && Array.isArray(m.loaded) ? m.loaded : [];
    els.loadedList.replaceChildren();
    var inSync = loaded.length > 0 && loaded.every(function (f) { return f === serving; });
    loaded.forEach(function (file, i) {
      var li = el('li', 'loaded__item' + (file === serving ? ' is-ok' : ' is-off'));
      li.appendChild(tEl('span', 'loaded__server', 'server_n', { n: i + 1 }));
      li.appendChild(el('code', 'loaded__model', file || t('none_value')));
      els.loadedList.appendChild(li);
    });
    els.loadedList.hidden = !loaded.length;
    els.servingSync.hidden = !m || !serving;
    if (m && serving) {
      els.servingSync.className = 'serving__sync ' + (inSync ? 'is-ok' : 'is-off');
      setText(els.servingSync, inSync ? 'servers_in_sync' : 'servers_out_of_sync', { count: loaded.length });
    }

    var previous = m && m.previous ? String(m.previous) : null;
    els.rollback.disabled = !previous || busy;
    els.rollbackReason.disabled = !previous || busy;
    setBusy(els.rollback, state.rollingBack);
    if (state.rollingBack) setText(els.rollbackLabel, 'rolling_back');
    else if (previous) setText(els.rollbackLabel, 'rollback_to', { model: previous });
    else setText(els.rollbackLabel, 'rollback_none');

    var history = m && Array.isArray(m.history) ? m.history : [];
    els.historyList.replaceChildren();
    history.forEach(function (h, i) {
      var li = el('li', 'history__item');
      li.setAttribute('data-testid', 'history-entry');
      var top = el('div', 'history__top');
      var kind = el('span', 'chip chip--' + (h.kind === 'rollback' ? 'rollback' : 'publish'));
      setCode(kind, 'history_kind.', h.kind);
      top.appendChild(kind);
      top.appendChild(el('code', 'history__model', h.model));
      if (i === 0 && h.model === serving) top.appendChild(badge('serving_badge', 'badge--ok'));
      li.appendChild(top);
      li.appendChild(tEl('div', 'history__meta', 'history_meta', { by: String(h.by || ''), at: dateTime(h.at) }));
      if (h.reason) li.appendChild(el('div', 'history__reason', h.reason));
      els.historyList.appendChild(li);
    });
    els.historyEmpty.hidden = history.length > 0 || !m;

    var models = m && Array.isArray(m.models) ? m.models : [];
    els.modelList.replaceChildren();
    models.forEach(function (x) {
      var li = el('li', 'model');
      li.setAttribute('data-testid', 'model-entry');
      li.appendChild(el('code', 'model__name', x.name));
      var tags = el('span', 'model__tags');
      if (x.name === serving) tags.appendChild(badge('serving_badge', 'badge--ok'));
      if (x.name === previous) tags.appendChild(badge('previous_badge', 'badge--muted'));
      tags.appendChild(badge(x.tested ? 'tested' : 'untested', x.tested ? 'badge--lang' : 'badge--warn'));
      li.appendChild(tags);
      els.modelList.appendChild(li);
    });
    els.modelListEmpty.hidden = models.length > 0 || !m;
  }

  /* --------------------------------------------------------- conversations */

  function threshold() {
    var v = parseFloat(els.filterThreshold.value);
    return isNum(v) && v >= 0 && v <= 1 ? v : LOW_CONFIDENCE;
  }

  function conversationQuery() {
    var q = [];
    var add = function (k, v) { q.push(encodeURIComponent(k) + '=' + encodeURIComponent(v)); };
    if (els.filterLanguage.value) add('language', els.filterLanguage.value);
    if (els.filterFallback.checked) add('fallback', '1');
    if (els.filterHandoff.checked) add('handoff', '1');
    if (els.filterLow.checked) add('low_confidence', String(threshold()));
    if (els.filterSince.value) add('since', els.filterSince.value);
    if (els.filterUntil.value) add('until', els.filterUntil.value);
    add('limit', els.filterLimit.value || '100');
    return q.join('&');
  }

  function loadConversations(epoch) {
    state.convsLoading = true;
    els.filterApply.disabled = true;
    renderConvList();
    return api('GET', '/api/ops/conversations?' + conversationQuery()).then(function (data) {
      if (epoch !== state.epoch) return;
      state.convs = data && Array.isArray(data.conversations) ? data.conversations : [];
    }, failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      state.convsLoading = false;
      els.filterApply.disabled = false;
      renderConvList();
    });
  }

  function resetFilters() {
    els.filterLanguage.value = '';
    els.filterFallback.checked = false;
    els.filterHandoff.checked = false;
    els.filterLow.checked = false;
    els.filterThreshold.value = String(LOW_CONFIDENCE);
    els.filterSince.value = '';
    els.filterUntil.value = '';
    els.filterLimit.value = '100';
    loadConversations(state.epoch);
  }

  function confidenceChip(conf) {
    var chip = el('span', 'conf');
    if (!isNum(conf)) { chip.hidden = true; return chip; }
    var pct = Math.round(Math.max(0, Math.min(1, conf)) * 100);
    chip.classList.toggle('is-low', conf < threshold());
    setText(chip, 'confidence', { percent: pct });
    return chip;
  }

  function renderConvList() {
    var list = state.convs || [];
    els.convList.replaceChildren();
    list.forEach(function (c) { els.convList.appendChild(renderConvItem(c)); });
    els.convCount.textContent = String(list.length);
    var loading = state.convsLoading;
    els.convLoading.hidden = !loading;
    els.convList.classList.toggle('is-loading', loading);
    els.convEmpty.hidden = loading || list.length > 0 || !state.convs;
  }

  function renderConvItem(c) {
    var id = String(c.sender_id);
    var li = el('li');
    var b = el('button', 'item item--conv');
    b.type = 'button';
    b.setAttribute('data-testid', 'conversation-item');
    b.setAttribute('data-sender', id);
    if (state.conv && state.conv.data && String(state.conv.data.sender_id) === id) {
      b.classList.add('is-selected');
      b.setAttribute('aria-current', 'true');
    }
    b.appendChild(el('span', 'item__preview', c.preview || id));
    var meta = el('span', 'item__meta');
    if (c.language) meta.appendChild(langBadge(c.language));
    if (c.fallback) meta.appendChild(badge('fallback_badge', 'badge--warn'));
    if (c.handoff) meta.appendChild(badge('handoff_badge', 'badge--muted'));
    meta.appendChild(confidenceChip(c.min_confidence));
    meta.appendChild(tEl('span', 'item__turns', 'turns', { count: Number(c.turns) || 0 }));
    meta.appendChild(el('span', 'item__time', dateTime(c.last_at || c.started_at)));
    b.appendChild(meta);
    b.addEventListener('click', function () { openConversation(id); });
    li.appendChild(b);
    return li;
  }

  function openConversation(id) {
    var epoch = state.epoch;
    var token = ++state.convToken;
    els.convList.querySelectorAll('.item').forEach(function (b) {
      var on = b.getAttribute('data-sender') === id;
      b.classList.toggle('is-selected', on);
      if (on) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
    });
    els.convDetail.classList.add('is-loading');
    api('GET', '/api/ops/conversations/' + encodeURIComponent(id)).then(function (data) {
      if (epoch !== state.epoch || token !== state.convToken) return;
      var conv = data && data.conversation;
      if (!conv) return;
      var same = state.conv && state.conv.data && state.conv.data.sender_id === conv.sender_id;
      state.conv = same ? { data: conv, selections: state.conv.selections, added: state.conv.added }
        : { data: conv, selections: {}, added: {} };
      if (!same) els.storyName.value = '';
      renderConvDetail();
    }, failed(epoch)).then(function () {
      if (token === state.convToken) els.convDetail.classList.remove('is-loading');
    });
  }

  function intentNames() {
    return (state.intents || []).map(function (e) { return String(e.intent); }).sort();
  }

  function renderConvDetail() {
    var conv = state.conv && state.conv.data;
    els.convPlaceholder.hidden = !!conv;
    els.convDetail.hidden = !conv;
    if (!conv) return;
    els.convSender.textContent = String(conv.sender_id);
    els.convMeta.replaceChildren();
    if (conv.language) els.convMeta.appendChild(langBadge(conv.language));
    if (conv.fallback) els.convMeta.appendChild(badge('fallback_badge', 'badge--warn'));
    if (conv.handoff) els.convMeta.appendChild(badge('handoff_badge', 'badge--muted'));
    if (isNum(conv.min_confidence)) {
      var lowest = confidenceChip(conv.min_confidence);
      setText(lowest, 'min_confidence', { percent: Math.round(conv.min_confidence * 100) });
      els.convMeta.appendChild(lowest);
    }
    var turns = Array.isArray(conv.turns) ? conv.turns : [];
    els.convTurns.replaceChildren();
    var names = intentNames();
    turns.forEach(function (turn) { els.convTurns.appendChild(renderTurn(turn, names)); });
    if (!turns.length) els.convTurns.appendChild(tEl('li', 'empty', 'turns_empty'));
    renderStoryNote();
  }

  function renderTurn(turn, names) {
    var index = Number(turn.index);
    var predicted = turn.intent ? String(turn.intent) : '';
    var selections = state.conv.selections;
    var chosen = Object.prototype.hasOwnProperty.call(selections, index) ? selections[index] : predicted;
    var li = el('li', 'turn');
    li.setAttribute('data-testid', 'turn');
    li.setAttribute('data-turn', String(index));
    var low = isNum(turn.confidence) && turn.confidence < threshold();
    li.classList.toggle('is-low', low);

    var head = el('div', 'turn__head');
    head.appendChild(el('span', 'turn__index', '#' + index));
    if (turn.language) head.appendChild(langBadge(turn.language));
    var intentChip = el('span', 'msg__intent');
    if (predicted) setText(intentChip, 'intent_label', { intent: predicted });
    else setText(intentChip, 'intent_none');
    head.appendChild(intentChip);
    var conf = confidenceChip(turn.confidence);
    conf.setAttribute('data-testid', 'turn-confidence');
    head.appendChild(conf);
    li.appendChild(head);

    var shopper = el('div', 'msg msg--shopper');
    var bubble = el('div', 'msg__bubble', turn.text);
    if (turn.language === 'en') bubble.lang = 'en';
    shopper.appendChild(bubble);
    li.appendChild(shopper);

    var fix = el('div', 'turn__fix');
    var selectId = 'turn-intent-' + index;
    var label = tEl('label', 'turn__fix-label', 'correct_intent_label');
    label.htmlFor = selectId;
    var select = el('select', 'field__input field__input--small turn__select');
    select.id = selectId;
    select.setAttribute('data-testid', 'turn-intent');
    var options = names.slice();
    if (options.indexOf(chosen) < 0) {
      var blank = tEl('option', null, predicted ? 'intent_not_trainable' : 'choose_intent',
                      { intent: predicted });
      blank.value = '';
      select.appendChild(blank);
    }
    options.forEach(function (name) {
      var opt = el('option', null, name);
      opt.value = name;
      select.appendChild(opt);
    });
    select.value = options.indexOf(chosen) >= 0 ? chosen : '';
    var button = tEl('button', 'btn btn--primary btn--small', 'correct_add');
    button.type = 'button';
    button.setAttribute('data-testid', 'turn-correct');
    var added = el('span', 'turn__added');
    added.setAttribute('data-testid', 'turn-added');
    var addedPath = state.conv.added[index];
    added.hidden = !addedPath;
    if (addedPath) setText(added, 'added_to', { path: addedPath });
    fix.appendChild(label);
    fix.appendChild(select);
    fix.appendChild(button);
    fix.appendChild(added);
    li.appendChild(fix);

    var update = function () {
      var value = select.value;
      var changed = !!value && value !== predicted;
      li.classList.toggle('is-corrected', changed);
      button.disabled = !value;
    };
    select.addEventListener('change', function () {
      if (select.value) selections[index] = select.value; else delete selections[index];
      update();
      renderStoryNote();
    });
    button.addEventListener('click', function () { correctTurn(index, select.value, button, added); });
    update();

    var bot = Array.isArray(turn.bot) ? turn.bot : [];
    bot.forEach(function (text) {
      var row = el('div', 'msg msg--bot');
      row.appendChild(el('div', 'msg__bubble', text));
      li.appendChild(row);
    });
    var actions = Array.isArray(turn.actions) ? turn.actions : [];
    if (actions.length) {
      var ul = el('ul', 'turn__actions');
      ul.setAttribute('data-i18n-aria-label', 'actions_label');
      ul.setAttribute('aria-label', t('actions_label'));
      actions.forEach(function (a) { ul.appendChild(el('li', null, a)); });
      li.appendChild(ul);
    }
    return li;
  }

  /** The corrections a test story applies: turns whose chosen intent differs from the predicted one. */
  function storyCorrections() {
    var conv = state.conv && state.conv.data;
    var out = {};
    if (!conv) return out;
    (conv.turns || []).forEach(function (turn) {
      var chosen = state.conv.selections[turn.index];
      if (chosen && chosen !== turn.intent) out[String(turn.index)] = chosen;
    });
    return out;
  }

  function renderStoryNote() {
    var n = Object.keys(storyCorrections()).length;
    setText(els.storyNote, n ? 'story_corrections' : 'story_no_corrections', { count: n });
  }

  function correctTurn(index, intent, button, added) {
    var conv = state.conv && state.conv.data;
    if (!conv) return;
    if (!intent) { showToast(t('choose_intent_first')); return; }
    var epoch = state.epoch;
    var sender = String(conv.sender_id);
    button.disabled = true;
    setBusy(button, true);
    api('POST', '/api/ops/conversations/' + encodeURIComponent(sender) + '/corrections',
        { turn: index, intent: intent }).then(function (data) {
      if (epoch !== state.epoch) return;
      var path = data && data.path ? String(data.path) : '';
      if (state.conv && state.conv.data && String(state.conv.data.sender_id) === sender) {
        state.conv.selections[index] = intent;
        state.conv.added[index] = path;
      }
      added.hidden = !path;
      if (path) setText(added, 'added_to', { path: path });
      notify('correction_added', { intent: intent, path: path });
      state.intentsStale = true;
      dataChanged(path);
      loadIntents(epoch);
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) { sessionLost(); return; }
      var problems = problemsOf(err);
      showToast(problems && problems.length
        ? t('problems_with', { message: errorText(err), first: problemLine(problems[0]) }) : errorText(err));
    }).then(function () {
      button.disabled = false;
      setBusy(button, false);
    });
  }

  function problemLine(p) {
    var host = el('span');
    problemMessage(host, p);
    return host.textContent;
  }

  function saveStory() {
    var conv = state.conv && state.conv.data;
    if (!conv) return;
    var name = els.storyName.value.trim();
    if (!name) {
      showToast(t('story_name_required'));
      els.storyName.focus();
      return;
    }
    var epoch = state.epoch;
    var sender = String(conv.sender_id);
    els.storySave.disabled = true;
    setBusy(els.storySave, true);
    api('POST', '/api/ops/conversations/' + encodeURIComponent(sender) + '/story',
        { name: name, corrections: storyCorrections() }).then(function (data) {
      if (epoch !== state.epoch) return;
      notify('story_saved', { name: name, path: (data && data.path) || '' });
      if (els.storyName.value.trim() === name) els.storyName.value = '';
      dataChanged(data && data.path);
    }, function (err) {
      if (epoch !== state.epoch) return;
      if (isAuthError(err)) { sessionLost(); return; }
      var problems = problemsOf(err);
      showToast(problems && problems.length
        ? t('problems_with', { message: errorText(err), first: problemLine(problems[0]) }) : errorText(err));
    }).then(function () {
      els.storySave.disabled = false;
      setBusy(els.storySave, false);
    });
  }

  /* ----------------------------------------------------------------- audit */

  function loadAudit(epoch) {
    state.auditLoading = true;
    els.auditRefresh.disabled = true;
    renderAudit();
    return api('GET', '/api/ops/audit').then(function (data) {
      if (epoch !== state.epoch) return;
      var entries = data && Array.isArray(data.entries) ? data.entries.slice() : [];
      entries.sort(function (a, b) { return String(b.at).localeCompare(String(a.at)); });
      state.audit = entries;
    }, failed(epoch)).then(function () {
      if (epoch !== state.epoch) return;
      state.auditLoading = false;
      els.auditRefresh.disabled = false;
      renderAuditActions();
      renderAudit();
    });
  }

  function renderAuditActions() {
    var chosen = els.auditAction.value;
    var actions = ACTIONS.slice();
    (state.audit || []).forEach(function (e) { if (actions.indexOf(e.action) < 0) actions.push(e.action); });
    els.auditAction.replaceChildren();
    var all = tEl('option', null, 'audit_all');
    all.value = '';
    els.auditAction.appendChild(all);
    actions.forEach(function (a) {
      var opt = setCode(el('option'), 'action.', a);
      opt.value = a;
      els.auditAction.appendChild(opt);
    });
    els.auditAction.value = actions.indexOf(chosen) >= 0 ? chosen : '';
  }

  function renderAudit() {
    var all = state.audit || [];
    var only = els.auditAction.value;
    var shown = only ? all.filter(function (e) { return e.action === only; }) : all;
    els.auditBody.replaceChildren();
    shown.forEach(function (e) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'audit-row');
      tr.setAttribute('data-action', String(e.action));
      var at = el('td', 'audit__at', dateTime(e.at));
      at.title = String(e.at || '');
      tr.appendChild(at);
      var actor = el('td');
      actor.appendChild(el('code', null, e.actor));
      tr.appendChild(actor);
      var action = el('td');
      action.appendChild(setCode(el('span', 'chip chip--action chip--' + String(e.action)), 'action.', e.action));
      tr.appendChild(action);
      var target = el('td', 'audit__target');
      target.appendChild(el('code', null, e.target));
      tr.appendChild(target);
      tr.appendChild(renderDetail(e.detail));
      els.auditBody.appendChild(tr);
    });
    els.auditCount.textContent = String(all.length);
    els.auditLoading.hidden = !(state.auditLoading && !state.audit);
    els.auditEmpty.hidden = !state.audit || shown.length > 0;
  }

  function renderDetail(detail) {
    var td = el('td', 'audit__detail');
    if (detail == null || detail === '') { td.textContent = t('none_value'); return td; }
    if (typeof detail !== 'object') { td.textContent = String(detail); return td; }
    var keys = Object.keys(detail);
    if (!keys.length) { td.textContent = t('none_value'); return td; }
    keys = keys.filter(function (k) { return detail[k] != null && detail[k] !== ''; });
    if (!keys.length) { td.textContent = t('none_value'); return td; }
    keys.forEach(function (k) {
      var v = detail[k];
      var row = el('div', 'detail');
      row.appendChild(setCode(el('span', 'detail__k'), 'detail.', k));
      var text;
      if (k === 'regressions' && Array.isArray(v)) {
        text = v.map(regressionText).join('; ');
      } else if (k === 'language' && isLang(v)) {
        text = t('lang_name_' + v);
      } else {
        text = v != null && typeof v === 'object' ? JSON.stringify(v) : String(v == null ? '' : v);
      }
      row.appendChild(el('span', 'detail__v', text));
      td.appendChild(row);
    });
    return td;
  }

  /* ------------------------------------------------------------------ boot */

  function bind() {
    els.langToggle.addEventListener('click', function () { setLang(ui.otherLang(ui.lang())); });
    els.loginForm.addEventListener('submit', function (e) { e.preventDefault(); submitLogin(); });
    els.opLogout.addEventListener('click', logout);
    els.tabs.addEventListener('keydown', onTabKey);
    TABS.forEach(function (name) {
      tabButton(name).addEventListener('click', function () { openTab(name, false); });
    });

    // NLU
    els.intentSearch.addEventListener('input', renderIntentList);
    els.intentOnlyMissing.addEventListener('change', renderIntentList);
    LANGS.forEach(function (lang) {
      var suffix = lang === 'zh' ? 'Zh' : 'En';
      els['addExample' + suffix + 'Form'].addEventListener('submit', function (e) {
        e.preventDefault();
        addExample(lang);
      });
    });

    // Responses
    els.responseSearch.addEventListener('input', renderResponses);
    els.responseOnlyMissing.addEventListener('change', renderResponses);
    els.responsesReload.addEventListener('click', function () { loadResponses(state.epoch); });
    els.responsesConflictReload.addEventListener('click', function () { loadResponses(state.epoch); });

    // Files
    els.fileSearch.addEventListener('input', renderFileList);
    els.editorText.addEventListener('input', onEditorInput);
    els.editorText.addEventListener('scroll', syncGutter);
    els.editorText.addEventListener('keydown', function (e) {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && String(e.key).toLowerCase() === 's') {
        e.preventDefault();
        saveFile();
      }
    });
    els.fileSave.addEventListener('click', function () { saveFile(); });
    els.fileRevert.addEventListener('click', revertFile);
    els.fileConflictLoad.addEventListener('click', loadTheirs);
    els.fileConflictOverwrite.addEventListener('click', function () {
      if (state.conflict) saveFile(state.conflict.current_version);
    });

    // Train & publish
    els.validate.addEventListener('click', runValidate);
    els.train.addEventListener('click', startTraining);
    els.publishForm.addEventListener('submit', function (e) { e.preventDefault(); publish(); });
    els.publishReason.addEventListener('input', function () { els.publishReasonError.hidden = true; });
    els.rollbackForm.addEventListener('submit', function (e) { e.preventDefault(); rollback(); });
    els.modelsRefresh.addEventListener('click', function () { loadModels(state.epoch); });

    // Conversations
    els.convFilters.addEventListener('submit', function (e) { e.preventDefault(); loadConversations(state.epoch); });
    els.filterReset.addEventListener('click', resetFilters);
    els.storyForm.addEventListener('submit', function (e) { e.preventDefault(); saveStory(); });

    // Audit
    els.auditAction.addEventListener('change', renderAudit);
    els.auditRefresh.addEventListener('click', function () { loadAudit(state.epoch); });

    window.addEventListener('beforeunload', function (e) {
      if (!state.operator) return;
      keepDraft();
      if (!hasUnsaved()) return;
      e.preventDefault();
      e.returnValue = '';
    });
  }

  function boot() {
    els = ui.elementsById();
    bind();
    resetConsole();
    ui.loadTable('/static/operator_i18n.json').then(function () {
      setLang(ui.initialLang());
      return api('GET', '/api/ops/session').then(function (data) {
        enterConsole(data && data.operator);
      }, function (err) {
        if (!isAuthError(err)) showToast(errorText(err));
        showLogin();
      });
    });
  }

  ui.ready(boot);
})();
