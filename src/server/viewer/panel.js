// The viewer's side panel: plain DOM, no map logic. Text always goes through textContent,
// never innerHTML, since layer titles and feature attributes are data.

/** Value of a version <select> meaning "follow the current version". */
export const FOLLOW = '';
const SYNTHETIC = /合成|synthetic/i;

/** document.getElementById. */
export const $ = (id) => document.getElementById(id);

/** A DOM element with properties and children. */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

/** One line of status at the foot of the panel. */
export function setStatus(text, isError = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

/** Node title, page title, and the synthetic-data label when the title says so. */
export function renderHeader(title) {
  $('node-title').textContent = title;
  document.title = `${title} · plantiles`;
  $('synthetic-label').hidden = !SYNTHETIC.test(title);
}

/** Semver order (major.minor.patch; pre-release and build ignored). */
export function compareVersions(a, b) {
  const pa = a.split(/[.+-]/).map(Number);
  const pb = b.split(/[.+-]/).map(Number);
  for (let i = 0; i < 3; i += 1) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  return 0;
}

function versionPicker(layer, pinned, onPick) {
  const live = (layer.versions ?? []).filter((v) => v.state !== 'pruned');
  live.sort((a, b) => compareVersions(b.version, a.version));
  const select = el('select', { title: '版本 Version' });
  select.setAttribute('aria-label', `${layer.title ?? layer.id} 版本 version`);
  select.dataset.layer = layer.id;
  select.append(el('option', { value: FOLLOW, textContent: `跟随最新 follow current (${layer.version})` }));
  for (const v of live) {
    // Date and time: two versions of one day are told apart.
    const date = typeof v.publishedAt === 'string' ? v.publishedAt.slice(0, 16).replace('T', ' ') : '';
    select.append(el('option', { value: v.version, textContent: `${v.version} · ${date}` }));
  }
  select.value = pinned ?? FOLLOW;
  select.addEventListener('change', () => onPick(select.value));
  return select;
}

/**
 * One row of the layer list. `view`: {drawn, visible, shown, pinned, swatch, onToggle(on), onPick(value)}.
 */
export function layerRow(layer, view) {
  const checkbox = el('input', { type: 'checkbox', checked: view.drawn && view.visible, disabled: !view.drawn });
  checkbox.dataset.layer = layer.id;
  checkbox.addEventListener('change', () => view.onToggle(checkbox.checked));
  const swatch = el('span', { className: 'swatch' });
  swatch.style.background = view.swatch;
  const label = el('label', {}, checkbox, swatch, el('span', { className: 'title', textContent: layer.title }),
    el('span', { className: 'id', textContent: layer.id }));
  const row = el('li', {}, label);
  row.dataset.layer = layer.id;
  if (!layer.version) {
    row.classList.add('unpublished');
    row.append(el('div', { className: 'meta', textContent: '未发布 not published' }));
    return row;
  }
  const shown = el('span', { className: `version current-version${view.pinned ? ' pinned' : ''}`, textContent: view.shown ?? layer.version });
  shown.title = view.pinned ? `固定版本 pinned · 最新 current ${layer.version}` : '最新版本 current version';
  const meta = el('div', { className: 'meta' }, el('span', { className: 'label', textContent: '版本 Version' }), shown,
    versionPicker(layer, view.pinned, view.onPick));
  if (Number.isFinite(layer.minzoom)) {
    row.dataset.minzoom = String(layer.minzoom);
    meta.append(el('span', { className: 'zoom-hint', textContent: `z≥${layer.minzoom}`,
      title: `放大到 ${layer.minzoom} 级可见 visible from zoom ${layer.minzoom}` }));
  }
  row.append(meta);
  return row;
}

/** Grey out rows of layers that have no tiles at this zoom. */
export function updateZoomHints(zoom) {
  for (const row of $('layer-list').children) {
    const minzoom = Number(row.dataset.minzoom);
    row.classList.toggle('out-of-range', Number.isFinite(minzoom) && zoom < minzoom);
  }
}

/** The land-use legend from the style's metadata; hidden when no layer is coloured by land use. */
export function renderLegend(legend, show) {
  $('legend').hidden = !Array.isArray(legend) || !show;
  if (!Array.isArray(legend)) return;
  $('legend-list').replaceChildren(...legend.map((entry) => {
    const swatch = el('span', { className: 'swatch' });
    swatch.style.background = entry.color;
    const item = el('li', { className: entry.code.length <= 2 ? 'level1' : 'level2' }, swatch,
      el('span', { className: 'code', textContent: entry.code }), el('span', { textContent: entry.name }));
    item.dataset.code = entry.code;
    return item;
  }));
}

/** The attribute table of one feature under a heading; null hides the section. */
export function renderAttributes(heading, feature) {
  $('attributes').hidden = feature === null;
  if (feature === null) return;
  const row = (key, value) => el('tr', {}, el('th', { textContent: key }),
    el('td', { textContent: value === null || value === undefined ? '' : String(value) }));
  const rows = Object.entries(feature.properties ?? {}).map(([key, value]) => row(key, value));
  if (feature.id !== undefined) rows.unshift(row('MVT id', feature.id));
  $('attributes-title').textContent = heading;
  $('attributes-table').tBodies[0].replaceChildren(...rows);
  // On a narrow screen the panel scrolls: bring the attributes into view where it is shorter than its content.
  $('attributes').scrollIntoView({ block: 'nearest' });
}
