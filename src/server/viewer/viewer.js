// plantiles map viewer: a plain browser module, no build step, no network beyond this server.
// MapLibre GL JS 6 ships only as ES modules; the server mounts its dist folder at /vendor/maplibre-gl/.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import {
  $, FOLLOW, layerRow, renderAttributes, renderHeader, renderLegend, setStatus, updateZoomHints,
} from './panel.js';

const LAYER_KEY = 'plantiles:layer';
const TITLE_KEY = 'plantiles:title';
const LEGEND_KEY = 'plantiles:legend';
const COLOR_BY_KEY = 'plantiles:colorBy';

/** What the viewer shows; browser tests read it through window.plantilesViewer.state. */
const state = {
  catalog: null,
  shown: {}, // layer id → version whose tiles are on the map (null: unpublished)
  pinned: {}, // layer id → version picked in the picker; absent = follow current
  visible: {}, // layer id → checkbox state
  lastSeq: 0,
  events: [], // publish events received, in order
};
let resolveReady;
let rejectReady;
const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
const api = { map: null, ready, state, events: null, selected: null };
window.plantilesViewer = api;

async function fetchJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function versionedUrl(id, version) {
  return `${location.origin}/tiles/${encodeURIComponent(id)}@${encodeURIComponent(version)}.json`;
}

const major = (version) => (version ? version.split('.')[0] : null);
const catalogLayer = (id) => state.catalog?.layers.find((layer) => layer.id === id) ?? null;
const styleLayers = () => api.map?.getStyle()?.layers ?? [];

/** Style layer ids drawing catalog layer `id` (from their metadata), in draw order. */
function styleLayerIds(id) {
  return styleLayers().filter((l) => l.metadata?.[LAYER_KEY] === id).map((l) => l.id);
}

/** [[west, south], [east, north]] around every published layer, or null. */
function unionBounds(layers) {
  const boxes = layers.filter((l) => l.version && Array.isArray(l.bounds) && l.bounds.every(Number.isFinite));
  if (boxes.length === 0) return null;
  const [w, s, e, n] = [0, 1, 2, 3].map((i) => boxes.map((l) => l.bounds[i]));
  return [[Math.min(...w), Math.min(...s)], [Math.max(...e), Math.max(...n)]];
}

function swatchColor(id) {
  for (const lid of styleLayerIds(id)) {
    const color = api.map.getPaintProperty(lid, `${api.map.getLayer(lid)?.type}-color`);
    if (typeof color === 'string') return color;
    if (color) return 'linear-gradient(135deg, #e6dc55 30%, #3e9a46 30% 65%, #6db2e8 65%)';
  }
  return '#ccc';
}

function renderLayers() {
  $('layer-list').replaceChildren(...(state.catalog?.layers ?? []).map((layer) => layerRow(layer, {
    drawn: styleLayerIds(layer.id).length > 0,
    visible: state.visible[layer.id] !== false,
    shown: state.shown[layer.id],
    pinned: state.pinned[layer.id],
    swatch: swatchColor(layer.id),
    onToggle: (on) => setVisible(layer.id, on),
    onPick: (value) => pickVersion(layer.id, value),
  })));
  if (api.map) updateZoomHints(api.map.getZoom());
}

function applyCatalog(catalog) {
  state.catalog = catalog;
  for (const layer of catalog.layers) {
    state.visible[layer.id] ??= true;
    if (!(layer.id in state.shown)) state.shown[layer.id] = layer.version ?? null;
  }
  renderHeader(catalog.node?.title ?? '国土空间规划一张图');
  renderLayers();
}

async function refreshCatalog() {
  applyCatalog(await fetchJson('/catalog'));
}

function setVisible(id, on) {
  state.visible[id] = on;
  for (const lid of styleLayerIds(id)) api.map.setLayoutProperty(lid, 'visibility', on ? 'visible' : 'none');
  showLegend();
}

/** Show `version` of layer `id`: swap the source's TileJSON, or (re)install the layer from style.json. */
async function showVersion(id, version) {
  if (!version) return;
  const source = api.map.getSource(id);
  const schemaChanged = major(state.shown[id]) !== null && major(state.shown[id]) !== major(version);
  if (source && typeof source.setUrl === 'function' && !schemaChanged) source.setUrl(versionedUrl(id, version));
  else if (!(await installLayer(id, version))) return;
  state.shown[id] = version;
  renderLayers();
  void refreshSelection(id);
}

/**
 * The clicked feature's attributes as the version now shown has them (its MVT id is
 * stable across versions), or no selection when that version does not hold it.
 */
async function refreshSelection(id) {
  const selected = api.selected;
  if (!selected || selected.layer !== id || selected.version === state.shown[id]) return;
  await Promise.race([new Promise((resolve) => api.map.once('idle', resolve)), new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (api.selected !== selected) return;
  const hit = api.map.querySourceFeatures(id, { sourceLayer: selected.sourceLayer, filter: ['==', ['id'], selected.id] })[0];
  if (!hit) {
    clearSelection();
    return;
  }
  api.selected = { ...selected, version: state.shown[id], properties: { ...hit.properties } };
  renderAttributes(`${selected.title} · ${id} @ ${state.shown[id]}`, hit);
}

/** Add (or replace) a layer's source and style layers from a fresh /style.json, in draw order. */
async function installLayer(id, version) {
  const style = await fetchJson('/style.json');
  const source = style.sources?.[id];
  if (!source) return false;
  const map = api.map;
  for (const lid of styleLayerIds(id)) map.removeLayer(lid);
  if (map.getSource(id)) map.removeSource(id);
  map.addSource(id, { ...source, url: versionedUrl(id, version) });
  const order = style.layers.map((l) => l.id);
  for (const layer of style.layers.filter((l) => l.metadata?.[LAYER_KEY] === id)) {
    const before = order.slice(order.indexOf(layer.id) + 1).find((lid) => map.getLayer(lid));
    map.addLayer(layer, before);
  }
  setVisible(id, state.visible[id] !== false);
  showLegend();
  return true;
}

function pickVersion(id, value) {
  if (value === FOLLOW) delete state.pinned[id];
  else state.pinned[id] = value;
  const version = value === FOLLOW ? catalogLayer(id)?.version : value;
  queue(() => showVersion(id, version));
}

let chain = Promise.resolve();
/** Run map updates one at a time, in arrival order. */
function queue(task) {
  chain = chain.then(task).catch((err) => setStatus(`更新失败 Update failed: ${err.message}`, true));
  return chain;
}

async function onPublish(event) {
  if (Number.isFinite(event.seq)) {
    if (event.seq <= state.lastSeq) return;
    state.lastSeq = event.seq;
  }
  state.events.push(event);
  await refreshCatalog().catch(() => undefined);
  // The catalog is the truth when it has moved on past the event (several publishes in a row).
  const version = catalogLayer(event.layer)?.version ?? event.version;
  if (!state.pinned[event.layer]) await showVersion(event.layer, version);
  const title = catalogLayer(event.layer)?.title ?? event.layer;
  setStatus(`${title} 已更新 updated: ${event.previous ?? '—'} → ${event.version}`);
}

function followEvents(styleLoaded) {
  if (typeof EventSource !== 'function') return;
  const source = new EventSource('/events');
  api.events = source;
  source.addEventListener('publish', (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    queue(async () => { await styleLoaded; await onPublish(event); });
  });
  let dropped = false;
  source.addEventListener('open', () => {
    setStatus('实时更新已连接 Live updates connected');
    if (dropped) queue(async () => { await styleLoaded; await resync(); });
    dropped = false;
  });
  source.addEventListener('error', () => {
    dropped = true;
    setStatus('实时更新重连中 Live updates reconnecting…');
  });
}

/**
 * After the server was away: the catalog is read again (the stream replays what it missed,
 * but a layer may have moved on in ways no event of this stream told), every followed
 * layer shows its current version, and tiles are fetched again (those asked for while the
 * server was away failed, and MapLibre keeps them blank).
 */
async function resync() {
  await refreshCatalog();
  for (const layer of state.catalog?.layers ?? []) {
    if (layer.version && !state.pinned[layer.id] && state.shown[layer.id] !== layer.version) await showVersion(layer.id, layer.version);
  }
  for (const id of Object.keys(state.shown)) if (api.map.getSource(id)) api.map.refreshTiles(id);
}

/** The land-use legend, while a layer coloured by it is drawn and switched on. */
function showLegend() {
  const legend = api.map.getStyle()?.metadata?.[LEGEND_KEY];
  renderLegend(legend, styleLayers().some((l) => l.metadata?.[COLOR_BY_KEY] && state.visible[l.metadata?.[LAYER_KEY]] !== false));
}

function featuresAt(point) {
  const layers = styleLayers().filter((l) => l.metadata?.[LAYER_KEY]).map((l) => l.id);
  return layers.length === 0 ? [] : api.map.queryRenderedFeatures(point, { layers });
}

/** Id of the style layer outlining the clicked feature. */
const SELECTED_LAYER = 'plantiles-selected';
/** Outline colour of the clicked feature: a cyan no layer style or land-use class uses. */
const SELECTED_COLOR = '#00b7ff';

/**
 * Outline `feature` (matched by its MVT id, stable across versions) above every layer;
 * null clears it. The outline carries its layer's metadata, so toggling, version swaps and
 * re-installs of that layer take it along.
 */
function highlight(feature) {
  const map = api.map;
  if (map.getLayer(SELECTED_LAYER)) map.removeLayer(SELECTED_LAYER);
  if (!feature || feature.id === undefined || !feature.sourceLayer) return;
  map.addLayer({
    id: SELECTED_LAYER,
    type: 'line',
    source: feature.source,
    'source-layer': feature.sourceLayer,
    metadata: { [LAYER_KEY]: feature.layer?.metadata?.[LAYER_KEY] ?? feature.source },
    filter: ['==', ['id'], feature.id],
    paint: { 'line-color': SELECTED_COLOR, 'line-width': 3 },
  });
}

function clearSelection() {
  api.selected = null;
  highlight(null);
  renderAttributes('', null);
}

function onClick(e) {
  const top = featuresAt(e.point).find((f) => f.layer?.id !== SELECTED_LAYER) ?? null;
  if (!top) {
    clearSelection();
    return;
  }
  const id = top.layer?.metadata?.[LAYER_KEY] ?? top.source;
  const title = catalogLayer(id)?.title ?? top.layer?.metadata?.[TITLE_KEY] ?? id;
  api.selected = { layer: id, version: state.shown[id], id: top.id, properties: { ...top.properties }, sourceLayer: top.sourceLayer, title };
  renderAttributes(`${title} · ${id} @ ${state.shown[id] ?? '?'}`, top);
  highlight(top);
}

let pendingMove = null;
/** Pointer cursor over features, one query per animation frame. */
function onMouseMove(e) {
  const scheduled = pendingMove !== null;
  pendingMove = e;
  if (scheduled) return;
  requestAnimationFrame(() => {
    const hit = featuresAt(pendingMove.point).length > 0;
    pendingMove = null;
    api.map.getCanvas().style.cursor = hit ? 'pointer' : '';
  });
}

function onMapError(e) {
  if (e.error?.name === 'AbortError') return;
  const message = e.error?.message ?? String(e.error ?? e);
  // A style that cannot load never goes idle: fail `ready` rather than leave a test hanging.
  if (!e.sourceId && !e.tile && !api.map.isStyleLoaded()) rejectReady(e.error ?? new Error(message));
  setStatus(`地图错误 Map error: ${message}`, true);
  console.warn('[plantiles viewer]', message);
}

/** Install catalog layers published but absent from the style (published since it was built). */
function installMissingLayers() {
  for (const layer of state.catalog?.layers ?? []) {
    if (layer.version && !api.map.getSource(layer.id)) queue(() => showVersion(layer.id, layer.version));
  }
}

function createMap(bounds) {
  // The panel covers the right (wide screens) or the lower 42% (narrow ones): the first view fits beside it.
  const padding = window.innerWidth > 700 ? { top: 40, bottom: 40, left: 40, right: 370 } : { top: 20, left: 20, right: 20, bottom: Math.round(window.innerHeight * 0.42) + 44 };
  const view = bounds ? { bounds, fitBoundsOptions: { padding, maxZoom: 16 } } : { center: [105, 35], zoom: 3 };
  const map = new maplibregl.Map({ container: 'map', style: '/style.json', attributionControl: { compact: true }, ...view });
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), 'top-left');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', onMapError);
  map.once('idle', () => resolveReady(api));
  map.on('click', onClick);
  map.on('mousemove', onMouseMove);
  map.on('zoomend', () => updateZoomHints(map.getZoom()));
  return map;
}

async function main() {
  try { await refreshCatalog(); } catch (err) { setStatus(`目录加载失败 Catalog failed: ${err.message}`, true); }
  const map = createMap(unionBounds(state.catalog?.layers ?? []));
  api.map = map;
  const styleLoaded = new Promise((resolve) => map.once('load', resolve));
  $('attributes-close').addEventListener('click', clearSelection);
  followEvents(styleLoaded);
  await styleLoaded;
  renderLayers();
  showLegend();
  installMissingLayers();
  const count = state.catalog?.layers.filter((l) => l.version).length ?? 0;
  if (!$('status').classList.contains('error')) setStatus(`${count} 个图层 layers · 点击要素查看属性 click a feature for its attributes`);
}

main().catch((err) => {
  setStatus(`加载失败 Failed to start: ${err.message}`, true);
  rejectReady(err);
});
