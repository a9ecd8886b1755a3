// plantiles on OpenLayers: every published layer of this server, read by OpenLayers' own MVT
// format and styled from the server's MapLibre style (colours, widths, the land-use palette),
// so both clients show the same map. A plain browser module over the global `ol` defined by
// OpenLayers' full build (served from the installed package): no bundler, no CDN.
/* global ol */

const LAYER_KEY = 'plantiles:layer';
const COLOR_BY_KEY = 'plantiles:colorBy';
const LEGEND_KEY = 'plantiles:legend';
const LEGEND_DEFAULT_KEY = 'plantiles:legendDefault';
const SYNTHETIC = /合成|synthetic/i;

const $ = (id) => document.getElementById(id);
let resolveReady;
let rejectReady;
const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
/** Browser tests read the map and its layers here; `ready` resolves after the first complete render. */
const api = { map: null, ready, layers: {} };
window.plantilesOl = api;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** `#rgb`/`#rrggbb` and an opacity → an rgba() string OpenLayers accepts. */
function rgba(hex, opacity) {
  const full = hex.length === 4 ? `#${[...hex.slice(1)].map((c) => c + c).join('')}` : hex;
  const n = Number.parseInt(full.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${opacity})`;
}

/** How the MapLibre style draws catalog layer `id`, reduced to what an OpenLayers style needs. */
function paintOf(style, id) {
  const paint = { order: Infinity, fill: null, fillOpacity: 0, colorBy: null, line: '#333333', width: 1, dash: undefined };
  style.layers.forEach((layer, index) => {
    if (layer.metadata?.[LAYER_KEY] !== id) return;
    paint.order = Math.min(paint.order, index);
    const p = layer.paint ?? {};
    if (layer.type === 'fill') {
      // A data-driven colour is an expression; the land-use palette in the style's metadata says the same thing.
      paint.fill = typeof p['fill-color'] === 'string' ? p['fill-color'] : null;
      paint.fillOpacity = p['fill-opacity'] ?? 1;
      paint.colorBy = layer.metadata[COLOR_BY_KEY] ?? null;
    } else if (layer.type === 'line') {
      paint.line = p['line-color'] ?? paint.line;
      paint.width = p['line-width'] ?? paint.width;
      paint.dash = Array.isArray(p['line-dasharray']) ? p['line-dasharray'].map((d) => d * paint.width) : undefined;
    } else if (layer.type === 'circle') {
      paint.fill = p['circle-color'] ?? paint.fill;
      paint.fillOpacity = p['circle-opacity'] ?? 1;
    }
  });
  return paint;
}

/** DLBM code → colour: the 4-digit class, else its first-level class, else the default. */
function landUseColour(style) {
  const byCode = new Map((style.metadata?.[LEGEND_KEY] ?? []).map((entry) => [entry.code, entry.color]));
  const fallback = style.metadata?.[LEGEND_DEFAULT_KEY] ?? '#cfcfcf';
  return (value) => {
    // A numeric DLBM (a Shapefile's numeric field: 101 for '0101') gets its leading zero back.
    const code = typeof value === 'number' && value < 1000 ? `0${value}` : String(value ?? '');
    return byCode.get(code.slice(0, 4)) ?? byCode.get(code.slice(0, 2)) ?? fallback;
  };
}

/** An OpenLayers style function for one layer; one Style object per fill colour, reused. */
function styleFunction(paint, colourOf) {
  const stroke = new ol.style.Stroke({ color: paint.line, width: paint.width, lineDash: paint.dash });
  const cache = new Map();
  return (feature) => {
    const colour = paint.colorBy ? colourOf(feature.get(paint.colorBy)) : paint.fill;
    let style = cache.get(colour);
    if (!style) {
      const fill = colour && paint.fillOpacity > 0 ? new ol.style.Fill({ color: rgba(colour, paint.fillOpacity) }) : undefined;
      const image = new ol.style.Circle({ radius: Math.max(3, paint.width * 2), fill: fill ?? new ol.style.Fill({ color: paint.line }), stroke });
      style = new ol.style.Style({ fill, stroke, image });
      cache.set(colour, style);
    }
    return style;
  };
}

/** A vector tile layer reading the versioned tile URL its TileJSON names. */
function vectorTileLayer(tilejson, paint, colourOf) {
  const source = new ol.source.VectorTile({
    format: new ol.format.MVT(),
    url: tilejson.tiles[0],
    minZoom: tilejson.minzoom,
    maxZoom: tilejson.maxzoom,
    attributions: tilejson.attribution,
  });
  source.on('tileloaderror', () => setStatus('瓦片加载失败 A tile failed to load', true));
  // Hidden below the layer's first zoom, as in MapLibre, rather than drawing minzoom tiles at any scale.
  // OpenLayers' view zoom counts 256-pixel tiles: one more than MapLibre's zoom, which counts the
  // 512-pixel tiles both read; MapLibre draws a layer from its minzoom on, at whole and fractional zooms.
  return new ol.layer.VectorTile({ source, style: styleFunction(paint, colourOf), minZoom: tilejson.minzoom + 1, zIndex: paint.order });
}

function layerRow(entry, layer, paint) {
  const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox', checked: true });
  checkbox.dataset.layer = entry.id;
  checkbox.addEventListener('change', () => layer.setVisible(checkbox.checked));
  const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
  swatch.style.background = paint.fill ?? paint.line;
  const title = Object.assign(document.createElement('span'), { className: 'title', textContent: entry.title });
  const version = Object.assign(document.createElement('span'), { className: 'version', textContent: entry.version });
  const label = document.createElement('label');
  label.append(checkbox, swatch, title, version);
  const row = document.createElement('li');
  row.dataset.layer = entry.id;
  row.append(label);
  return row;
}

/** The attributes of the top feature under a click, as text (attributes are data, never HTML). */
function showFeature(map, pixel) {
  const [feature] = map.getFeaturesAtPixel(pixel, { hitTolerance: 2 });
  const table = $('feature-info');
  table.hidden = !feature;
  if (!feature) return;
  const rows = Object.entries(feature.getProperties()).filter(([key]) => key !== 'geometry' && key !== 'layer');
  rows.unshift(['layer', feature.get('layer')], ['MVT id', feature.getId()]);
  table.tBodies[0].replaceChildren(...rows.map(([key, value]) => {
    const tr = document.createElement('tr');
    tr.append(Object.assign(document.createElement('th'), { textContent: key }),
      Object.assign(document.createElement('td'), { textContent: value === undefined || value === null ? '' : String(value) }));
    return tr;
  }));
}

function unionExtent(layers) {
  const boxes = layers.map((l) => l.bounds).filter((b) => Array.isArray(b) && b.every(Number.isFinite));
  if (boxes.length === 0) return null;
  const box = [0, 1, 2, 3].map((i) => (i < 2 ? Math.min : Math.max)(...boxes.map((b) => b[i])));
  return ol.proj.transformExtent(box, 'EPSG:4326', 'EPSG:3857');
}

async function main() {
  $('ol-version').textContent = ol.util?.VERSION ?? '';
  const [catalog, style] = await Promise.all([fetchJson('/catalog'), fetchJson('/style.json')]);
  const title = catalog.node?.title ?? '国土空间规划一张图';
  $('node-title').textContent = title;
  document.title = `${title} · OpenLayers · plantiles`;
  $('synthetic-label').hidden = !SYNTHETIC.test(title);
  const published = catalog.layers.filter((entry) => entry.version);
  const tilejsons = await Promise.all(published.map((entry) => fetchJson(entry.tilejson)));
  const colourOf = landUseColour(style);
  const map = new ol.Map({ target: 'map', view: new ol.View({ center: ol.proj.fromLonLat([105, 35]), zoom: 3 }) });
  api.map = map;
  published.forEach((entry, i) => {
    const paint = paintOf(style, entry.id);
    const layer = vectorTileLayer(tilejsons[i], paint, colourOf);
    api.layers[entry.id] = layer;
    map.addLayer(layer);
    $('layer-list').append(layerRow(entry, layer, paint));
  });
  const extent = unionExtent(published);
  if (extent) map.getView().fit(extent, { padding: [40, 320, 40, 40], maxZoom: 16 });
  map.on('singleclick', (e) => showFeature(map, e.pixel));
  map.once('rendercomplete', () => resolveReady(api));
  setStatus(`${published.length} 个图层 layers · 点击要素查看属性 click a feature for its attributes`);
}

main().catch((err) => {
  setStatus(`加载失败 Failed to start: ${err.message}`, true);
  rejectReady(err);
});
