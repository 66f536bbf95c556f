/**
 * The viewer's page, stylesheet and script, served from memory. The script builds every node
 * with createElement + textContent (never innerHTML): the records are model output.
 */

export const VIEWER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gemtraj viewer</title><link rel="stylesheet" href="/app.css"></head>
<body>
<header><b>gemtraj viewer</b> <span id="summary" class="muted">loading…</span></header>
<div id="layout">
  <aside>
    <div class="controls">
      <input id="q" type="search" placeholder="search id, domain, check, text…" autocomplete="off">
      <select id="status"><option value="all">all</option><option value="passed">passed</option><option value="rejected">rejected</option></select>
    </div>
    <div id="count" class="muted"></div>
    <ol id="list"></ol>
    <div class="pager"><button id="prev">‹ prev</button><span id="page" class="muted"></span><button id="next">next ›</button></div>
  </aside>
  <section id="detail"><p class="muted">Select a trajectory.</p></section>
</div>
<script src="/app.js"></script>
</body></html>
`;

export const VIEWER_CSS = `
:root{--fg:#1d2330;--muted:#6b7385;--bg:#f6f7fb;--card:#fff;--accent:#3565d8;--line:#dfe3ec;--user:#e4edff;--asst:#f1f2f6;--tool:#fbf6e9;--bad:#b3261e;--good:#1f7a3a}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);height:100vh;display:flex;flex-direction:column}
header{padding:8px 14px;border-bottom:1px solid var(--line);background:var(--card)}.muted{color:var(--muted)}
#layout{flex:1;display:flex;min-height:0}aside{width:380px;border-right:1px solid var(--line);display:flex;flex-direction:column;min-height:0;background:var(--card)}
.controls{display:flex;gap:6px;padding:8px}.controls input{flex:1;padding:5px}#count{padding:0 8px 4px}
#list{list-style:none;margin:0;padding:0;overflow:auto;flex:1}#list li{padding:6px 8px;border-bottom:1px solid var(--line);cursor:pointer}#list li:hover,#list li.sel{background:#eef3ff}
#list .id{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}#list .snip{font-size:12px;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.badge{display:inline-block;font-size:11px;border-radius:8px;padding:0 6px;margin-right:4px}.passed{background:#dcf3e3;color:var(--good)}.rejected{background:#fbe3e1;color:var(--bad)}
.pager{display:flex;justify-content:space-between;align-items:center;padding:6px 8px;border-top:1px solid var(--line)}
#detail{flex:1;overflow:auto;padding:14px 18px}h2{font-size:16px;margin:18px 0 6px}h3{font-size:14px;margin:12px 0 4px}
.chat{display:flex;flex-direction:column;gap:8px}.msg{max-width:85%;border-radius:10px;padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere}
.msg .who{display:block;font-size:11px;color:var(--muted);white-space:normal}.user{align-self:flex-end;background:var(--user)}.assistant{align-self:flex-start;background:var(--asst)}
.tool{align-self:flex-start;background:var(--tool);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;max-height:300px;overflow:auto}.system{background:#f4f0fa;font-size:12px}
.call{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:4px 6px;margin-top:4px;white-space:pre-wrap}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px;max-height:360px;overflow:auto;font-size:12px}
.reason{color:var(--bad)}summary{cursor:pointer;color:var(--accent)}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid var(--line);padding:3px 6px;text-align:left}
`;

export const VIEWER_JS = String.raw`
'use strict';
(function () {
  var state = { offset: 0, limit: 50, total: 0, selected: null, timer: null };
  var $ = function (id) { return document.getElementById(id); };

  // Builds an element; children may be nodes or strings (always text, never markup).
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'class') node.className = attrs[k];
      else if (k === 'text') node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  function getJson(url) {
    return fetch(url, { headers: { accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (body) { if (!r.ok) throw new Error(body.error || r.statusText); return body; });
    });
  }

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
  }

  function loadSummary() {
    getJson('/api/summary').then(function (s) {
      var f = s.funnel || {};
      var parts = [s.dir, s.command, 'passed ' + f.passed, 'generated ' + f.generated, 'kept segments ' + f.kept];
      if (s.usage) parts.push('calls ' + s.usage.calls + ' (+' + s.usage.cached_calls + ' cached)', 'cost $' + Number(s.usage.cost_usd).toFixed(4));
      if (s.shape) parts.push('messages mean ' + Number(s.shape.messages.mean).toFixed(1), 'tool calls mean ' + Number(s.shape.tool_calls.mean).toFixed(1));
      $('summary').textContent = parts.join(' · ');
    }).catch(function (e) { $('summary').textContent = 'summary unavailable: ' + e.message; });
  }

  function loadList() {
    var params = new URLSearchParams({ offset: String(state.offset), limit: String(state.limit), q: $('q').value, status: $('status').value });
    getJson('/api/trajectories?' + params.toString()).then(function (page) {
      state.total = page.total;
      var list = $('list');
      list.replaceChildren();
      page.items.forEach(function (item) {
        var li = el('li', { 'data-id': item.id }, [
          el('div', null, [
            el('span', { class: 'badge ' + item.status, text: item.status === 'rejected' ? 'rejected · ' + item.stage : 'passed' }),
            el('span', { class: 'id', text: item.id })
          ]),
          el('div', { class: 'snip', text: [item.domain || '', item.checks.join(', '), item.snippet].filter(Boolean).join(' — ') })
        ]);
        if (item.id === state.selected) li.className = 'sel';
        li.addEventListener('click', function () { location.hash = encodeURIComponent(item.id); });
        list.appendChild(li);
      });
      $('count').textContent = page.total + ' match' + (page.total === 1 ? '' : 'es');
      var pages = Math.max(1, Math.ceil(page.total / state.limit));
      $('page').textContent = 'page ' + (Math.floor(state.offset / state.limit) + 1) + ' / ' + pages;
      $('prev').disabled = state.offset === 0;
      $('next').disabled = state.offset + state.limit >= page.total;
    }).catch(function (e) { $('count').textContent = 'error: ' + e.message; });
  }

  function renderMessages(messages) {
    var chat = el('div', { class: 'chat' });
    (messages || []).forEach(function (m) {
      if (m.role === 'system') {
        chat.appendChild(el('details', { class: 'msg system' }, [el('summary', { text: 'system prompt' }), String(m.content)]));
      } else if (m.role === 'user') {
        chat.appendChild(el('div', { class: 'msg user' }, [el('span', { class: 'who', text: 'user' }), String(m.content)]));
      } else if (m.role === 'assistant') {
        var node = el('div', { class: 'msg assistant' }, [el('span', { class: 'who', text: 'assistant' })]);
        if (m.content) node.appendChild(document.createTextNode(String(m.content)));
        (m.tool_calls || []).forEach(function (c) {
          node.appendChild(el('div', { class: 'call', text: '→ ' + c.function.name + '(' + pretty(c.function.arguments) + ')  ' + c.id }));
        });
        chat.appendChild(node);
      } else {
        chat.appendChild(el('div', { class: 'msg tool' }, [el('span', { class: 'who', text: 'tool ' + (m.name || '') + ' ← ' + m.tool_call_id }), pretty(m.content)]));
      }
    });
    return chat;
  }

  function section(title, children) {
    return [el('h2', { text: title })].concat(children);
  }

  function renderDetail(d) {
    var box = $('detail');
    box.replaceChildren();
    var t = d.trajectory;
    box.appendChild(el('div', null, [
      el('span', { class: 'badge ' + d.status, text: d.status }),
      el('b', { text: d.id }),
      el('span', { class: 'muted', text: t ? '  ' + (t.domain || '') + ' · ' + (t.messages || []).length + ' messages · ' + (t.tools || []).length + ' tools · from ' + d.version : '' })
    ]));
    if (d.rejections.length > 0) {
      var ul = el('ul');
      d.rejections.forEach(function (r) {
        (r.reasons || []).forEach(function (reason) {
          ul.appendChild(el('li', { class: 'reason', text: r.stage + ' · ' + reason.check + (reason.path ? ' at ' + reason.path : '') + ': ' + reason.message }));
        });
      });
      section('Rejection reasons', [ul]).forEach(function (n) { box.appendChild(n); });
      d.rejections.forEach(function (r) {
        if (r.raw) box.appendChild(el('details', null, [el('summary', { text: 'raw model output (' + r.stage + ')' }), el('pre', { text: r.raw })]));
      });
    }
    if (t) {
      var meta = t.meta || {};
      var rows = [];
      ['stage', 'model', 'prompt_version', 'workflow', 'persona'].forEach(function (k) { if (meta[k] !== undefined) rows.push([k, String(meta[k])]); });
      if (meta.patterns) rows.push(['patterns', meta.patterns.join(', ')]);
      if (meta.judge) rows.push(['judge', Object.keys(meta.judge).map(function (k) { return k + '=' + meta.judge[k]; }).join(' ')]);
      if (meta.usage) rows.push(['usage', meta.usage.prompt_tokens + ' prompt + ' + meta.usage.completion_tokens + ' completion tokens']);
      if (meta.refine_fallback) rows.push(['refine fallback', (meta.refine_fallback || []).map(function (r) { return r.check + ': ' + r.message; }).join('; ')]);
      rows.push(['source', (t.source.doc_id || '') + ' / ' + (t.source.segment_id || '') + (t.source.workflow_index !== undefined ? ' / workflow ' + t.source.workflow_index : '')]);
      var table = el('table', null, rows.map(function (r) { return el('tr', null, [el('th', { text: r[0] }), el('td', { text: r[1] })]); }));
      section('Meta', [table]).forEach(function (n) { box.appendChild(n); });
      if (meta.warnings && meta.warnings.length > 0) {
        var wl = el('ul');
        meta.warnings.forEach(function (w) { wl.appendChild(el('li', { class: 'reason', text: w.check + (w.path ? ' at ' + w.path : '') + ': ' + w.message })); });
        section('Warnings', [wl]).forEach(function (n) { box.appendChild(n); });
      }
      section('Conversation', [renderMessages(t.messages)]).forEach(function (n) { box.appendChild(n); });
      var tools = el('div');
      (t.tools || []).forEach(function (tool) {
        tools.appendChild(el('details', null, [
          el('summary', { text: tool.function.name + ' — ' + (tool.function.description || '') }),
          el('pre', { text: JSON.stringify(tool.function.parameters || {}, null, 2) })
        ]));
      });
      section('Tool schemas (' + (t.tools || []).length + ')', [tools]).forEach(function (n) { box.appendChild(n); });
      if (d.before_refinement) {
        box.appendChild(el('details', null, [el('summary', { text: 'before refinement (' + (d.before_refinement.messages || []).length + ' messages)' }), renderMessages(d.before_refinement.messages)]));
      }
    }
    if (d.workflow) {
      var w = d.workflow;
      var steps = el('ol');
      (w.steps || []).forEach(function (s) { steps.appendChild(el('li', { text: s.action + ' [' + s.tool + ']' + (s.condition ? ' if ' + s.condition : '') })); });
      section('Workflow: ' + (w.name || ''), [
        el('p', { text: w.description || '' }),
        el('p', { class: 'muted', text: w.execution_graph || '' }),
        steps,
        el('details', null, [el('summary', { text: 'rules' }), el('pre', { text: (w.rules || []).concat(w.extraction_rules || []).join('\n') })])
      ]).forEach(function (n) { box.appendChild(n); });
    }
    if (d.segment) {
      var s = d.segment;
      section('Source segment ' + s.id, [
        el('p', { class: 'muted', text: (s.heading ? s.heading + ' · ' : '') + 'score ' + s.score + ' · ' + (s.keep ? 'kept' : 'dropped') + ' by ' + s.by }),
        el('pre', { text: s.text })
      ]).forEach(function (n) { box.appendChild(n); });
    }
  }

  function openFromHash() {
    var id;
    try {
      id = decodeURIComponent(location.hash.slice(1));
    } catch (e) {
      // A hand-edited or truncated link (#%E0%A4%A): say so instead of an uncaught URIError.
      $('detail').replaceChildren(el('p', { class: 'reason', text: 'not a trajectory link: ' + location.hash }));
      return;
    }
    if (!id) return;
    state.selected = id;
    Array.prototype.forEach.call(document.querySelectorAll('#list li'), function (li) { li.className = li.getAttribute('data-id') === id ? 'sel' : ''; });
    getJson('/api/trajectory/' + encodeURIComponent(id)).then(renderDetail).catch(function (e) {
      $('detail').replaceChildren(el('p', { class: 'reason', text: e.message }));
    });
  }

  $('q').addEventListener('input', function () {
    clearTimeout(state.timer);
    state.timer = setTimeout(function () { state.offset = 0; loadList(); }, 200);
  });
  $('status').addEventListener('change', function () { state.offset = 0; loadList(); });
  $('prev').addEventListener('click', function () { state.offset = Math.max(0, state.offset - state.limit); loadList(); });
  $('next').addEventListener('click', function () { state.offset += state.limit; loadList(); });
  window.addEventListener('hashchange', openFromHash);
  loadSummary();
  loadList();
  openFromHash();
})();
`;
