// The admin page: sign in with a token, see layers and versions, publish, upload,
// roll back, and follow jobs live. The token stays in this tab (sessionStorage) and
// goes only into Authorization headers, never into a URL.

const TOKEN_KEY = 'plantiles-admin-token';
const $ = (sel) => document.querySelector(sel);
const jobs = new Map();
/** Layers whose version history is unfolded, kept across re-renders. */
const openHistories = new Set();
let token = sessionStorage.getItem(TOKEN_KEY);
let stream = null;
/** The job the notice at the top speaks of: its outcome replaces "queued" there. */
let noticeJob = null;
/** Refreshes the mirrors table while signed in (one timer, however often the user signs in). */
let mirrorsTimer = null;

const STATE_LABELS = {
  queued: '排队 queued', running: '运行 running', succeeded: '成功 succeeded',
  unchanged: '无变化 unchanged', failed: '失败 failed',
};
const KIND_LABELS = { publish: '发布 publish', upload: '上传 upload' };

/** fetch with the token; a 401 signs out. */
async function api(path, options = {}) {
  const headers = { ...(options.headers ?? {}), Authorization: `Bearer ${token}` };
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) {
    signOut('令牌无效或已失效 The token is not valid.');
    throw new Error('unauthorized');
  }
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  if (!res.ok) throw new Error(body?.error ?? `HTTP ${res.status}`);
  return body;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** A time as "2026-12-01 14:32:10" in the browser's time zone: the same on every browser, whatever its language. */
function when(iso) {
  const d = new Date(iso);
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function notify(text, bad = false, job = null) {
  noticeJob = job;
  const n = $('#notice');
  n.textContent = text;
  n.classList.toggle('bad', bad);
  n.hidden = false;
}

// ---- sign in / out ----

async function signIn(candidate) {
  token = candidate;
  try {
    await refreshLayers();
  } catch (err) {
    if (err.message !== 'unauthorized') signOut(`无法登录 Cannot sign in: ${err.message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#signout').hidden = false;
  await Promise.all([refreshJobs(), refreshAudit(), refreshMirrors()]);
  openStream();
  clearInterval(mirrorsTimer);
  mirrorsTimer = setInterval(() => { refreshMirrors().catch(() => {}); }, 5000);
  $('#layers').focus();
}

function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  stream?.abort();
  stream = null;
  clearInterval(mirrorsTimer);
  mirrorsTimer = null;
  $('#token').value = '';
  $('#app').hidden = true;
  $('#signout').hidden = true;
  $('#signin').hidden = false;
  const err = $('#signin-error');
  err.textContent = message ?? '';
  err.hidden = !message;
}

// ---- layers ----

async function refreshLayers() {
  const { layers } = await api('/admin/layers');
  const body = $('#layers tbody');
  body.replaceChildren(...layers.map(layerRow));
  $('#whoami').textContent = `共 ${layers.length} 个图层 · ${layers.length} layer(s) this token may manage`;
}

function layerRow(layer) {
  const history = el('ul', {}, ...layer.versions.map((v) => versionItem(layer, v)));
  const row = el('tr', { 'data-layer': layer.id },
    el('td', {}, el('strong', {}, layer.id), el('br'), layer.title,
      layer.versions.length ? historyOf(layer, history) : null),
    el('td', { class: 'current' }, layer.current ?? '—'),
    el('td', { class: 'source' }, layer.origin ? `镜像自 mirrored from ${layer.origin}` : layer.source ?? '—'),
    el('td', { class: 'actions' }, ...(layer.configured ? actionButtons(layer) : [])),
  );
  if (layer.configured) makeDropTarget(row, layer.id);
  return row;
}

function historyOf(layer, list) {
  const details = el('details', { class: 'history', open: openHistories.has(layer.id) },
    el('summary', {}, `历史版本 History (${layer.versions.length})`), list);
  details.addEventListener('toggle', () => { if (details.open) openHistories.add(layer.id); else openHistories.delete(layer.id); });
  return details;
}

function versionItem(layer, v) {
  const isCurrent = v.version === layer.current;
  const label = `${v.version} · ${when(v.publishedAt)} · ${v.tiles} tiles`;
  const item = el('li', { 'data-version': v.version },
    el('span', { class: `version ${isCurrent ? 'current' : v.state}` }, label, isCurrent ? ' ← 当前 current' : v.state === 'pruned' ? ' (已清理 pruned)' : ''));
  if (!isCurrent && v.state === 'live' && !layer.origin) {
    item.append(' ', el('button', { type: 'button', 'data-rollback': v.version, onclick: () => rollback(layer.id, v.version) }, '回滚 Roll back'));
  }
  return item;
}

function actionButtons(layer) {
  const input = el('input', { type: 'file', accept: '.zip,.geojson,.json', 'data-upload': layer.id,
    onchange: (e) => { const f = e.target.files[0]; if (f) void upload(layer.id, f); e.target.value = ''; } });
  // The file input is hidden; its label is the button, so the label takes the keyboard focus and opens it.
  const label = el('label', { class: 'upload', tabindex: '0', role: 'button', 'aria-label': `上传 Upload a new source for ${layer.id}`,
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } } }, '上传 Upload…', input);
  return [
    el('button', { type: 'button', 'data-publish': layer.id, 'aria-label': `发布 Publish ${layer.id}`, onclick: () => publish(layer.id) }, '发布 Publish'),
    label,
  ];
}

function makeDropTarget(row, layerId) {
  row.addEventListener('dragover', (e) => { e.preventDefault(); row.classList.add('drop-target'); });
  row.addEventListener('dragleave', () => row.classList.remove('drop-target'));
  row.addEventListener('drop', (e) => {
    e.preventDefault();
    row.classList.remove('drop-target');
    const f = e.dataTransfer?.files?.[0];
    if (f) void upload(layerId, f);
  });
}

// ---- actions ----

async function publish(layerId) {
  try {
    const job = await api(`/admin/layers/${encodeURIComponent(layerId)}/publish`, { method: 'POST' });
    notify(`已排队发布任务 #${job.id} · publish job #${job.id} queued for ${layerId}`, false, job.id);
    noteAccepted(job);
  } catch (err) {
    notify(`发布失败 Publish refused: ${err.message}`, true);
  }
}

function contentTypeOf(file) {
  return /\.zip$/i.test(file.name) ? 'application/zip' : 'application/geo+json';
}

async function upload(layerId, file) {
  notify(`正在上传 Uploading ${file.name} (${file.size} bytes) …`);
  try {
    const job = await api(`/admin/layers/${encodeURIComponent(layerId)}/source`, {
      method: 'PUT', body: file,
      headers: { 'Content-Type': contentTypeOf(file), 'X-File-Name': encodeURIComponent(file.name) },
    });
    notify(`已上传，发布任务 #${job.id} · uploaded; publish job #${job.id} queued`, false, job.id);
    noteAccepted(job);
  } catch (err) {
    notify(`上传被拒绝 Upload refused: ${err.message}`, true);
  }
}

async function rollback(layerId, version) {
  if (!confirm(`将 ${layerId} 回滚到 ${version}？ Roll ${layerId} back to ${version}?`)) return;
  try {
    const r = await api(`/admin/layers/${encodeURIComponent(layerId)}/rollback`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ version }),
    });
    notify(`${r.layer} 当前版本 current version: ${r.version}（原 was ${r.previous ?? '—'}）`);
    await Promise.all([refreshLayers(), refreshAudit()]);
  } catch (err) {
    notify(`回滚失败 Rollback refused: ${err.message}`, true);
  }
}

// ---- jobs ----

async function refreshJobs() {
  const { jobs: list } = await api('/admin/jobs?limit=50');
  jobs.clear();
  for (const j of list) jobs.set(j.id, j);
  renderJobs();
}

/** A 202's job: the event stream may already have delivered newer states of it, which win. */
function noteAccepted(job) {
  if (!jobs.has(job.id)) upsertJob(job);
}

function upsertJob(job) {
  const before = jobs.get(job.id);
  jobs.set(job.id, job);
  renderJobs();
  const finished = ['succeeded', 'unchanged', 'failed'];
  if (!finished.includes(job.state) || before?.state === job.state) return;
  void Promise.all([refreshLayers(), refreshAudit()]).catch(() => {});
  if (noticeJob === job.id) {
    const outcome = job.state === 'failed' ? `失败 failed: ${job.error ?? ''}` : `${STATE_LABELS[job.state]}${job.version ? ` · ${job.version}` : ''}`;
    notify(`任务 #${job.id} job #${job.id} (${job.layer}): ${outcome}`, job.state === 'failed');
  }
}

function renderJobs() {
  const list = [...jobs.values()].sort((a, b) => b.id - a.id).slice(0, 50);
  $('#jobs tbody').replaceChildren(...list.map((j) => el('tr', { 'data-job': String(j.id), 'data-state': j.state },
    el('td', {}, j.id),
    el('td', {}, j.layer),
    el('td', {}, KIND_LABELS[j.kind] ?? j.kind, j.revision ? ` r${j.revision}` : ''),
    el('td', { class: `state state-${j.state}` }, STATE_LABELS[j.state] ?? j.state),
    el('td', {}, el('progress', { max: 1, value: j.progress }), ` ${Math.round(j.progress * 100)}%`, j.stage ? ` ${j.stage}` : ''),
    el('td', { class: 'version' }, j.version ?? ''),
    el('td', { class: 'message' }, j.error ?? j.detail ?? ''),
    el('td', {}, when(j.finishedAt ?? j.startedAt ?? j.createdAt).slice(11)),
  )));
}

// ---- audit ----

async function refreshAudit() {
  const { entries } = await api('/admin/audit?limit=30');
  $('#audit tbody').replaceChildren(...entries.map((a) => el('tr', {},
    el('td', {}, when(a.at)), el('td', {}, a.actor), el('td', {}, a.action),
    el('td', {}, a.layer ?? ''), el('td', {}, `${a.status || ''} ${a.result}`),
  )));
}

// ---- mirrors (GET /mirrors is public) ----

async function refreshMirrors() {
  const res = await fetch('/mirrors');
  if (!res.ok) return;
  const { mirrors } = await res.json();
  $('#mirrors').hidden = mirrors.length === 0;
  $('#mirrors-empty').hidden = mirrors.length > 0;
  $('#mirrors tbody').replaceChildren(...mirrors.map((m) => el('tr', { 'data-upstream': m.upstream },
    el('td', {}, `${m.upstream}${m.prefix ? ` (${m.prefix}*)` : ''}`), el('td', {}, `${m.state} · ${m.mode}`),
    el('td', {}, String(m.lagVersions)), el('td', {}, String(Math.round(m.lagSeconds))),
    el('td', {}, m.lastError ? `${m.lastError.message} (${when(m.lastError.at)})` : ''),
  )));
}

// ---- live updates: SSE read with fetch (EventSource cannot send a token) ----

function openStream(reconnecting = false) {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  const badge = $('#stream-state');
  const retry = () => { if (stream === controller) setTimeout(() => { if (stream === controller) openStream(true); }, 2000); };
  fetch('/admin/events', { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal: controller.signal })
    .then(async (res) => {
      if (res.status === 401) {
        signOut('令牌已失效 The token is no longer valid.');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      badge.textContent = '实时 live';
      badge.classList.add('live');
      // After an outage, what changed meanwhile: the stream carries only what happens from now on.
      if (reconnecting) void Promise.all([refreshLayers(), refreshJobs(), refreshAudit()]).catch(() => {});
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          onEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
      throw new Error('stream ended');
    })
    .catch(() => {
      badge.textContent = '重连中 reconnecting';
      badge.classList.remove('live');
      retry();
    });
}

function onEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) type = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (!data.length) return;
  const payload = JSON.parse(data.join('\n'));
  if (type === 'job') upsertJob(payload);
  else if (type === 'publish') void refreshLayers().catch(() => {});
}

// ---- start ----

$('#signin').addEventListener('submit', (e) => {
  e.preventDefault();
  void signIn($('#token').value.trim());
});
$('#signout').addEventListener('click', () => signOut());
if (token) void signIn(token);
