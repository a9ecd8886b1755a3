// 重大项目选线: invented corridors (an expressway, a rail line with a branch,
// a water main) that cross the other control lines, as siting proposals do.
import { CITY_XZQDM } from './city.js';
import { projectToGk } from './crs.js';
import { smoothLine, type Position } from './geo.js';
import type { ShapefileLayer } from './write-shapefile.js';

interface ProjectSketch {
  xmmc: string;
  xmlx: string;
  pzwh: string;
  /** Control points of each part (a branch is a second part). */
  parts: Position[][];
}

const PROJECTS: readonly ProjectSketch[] = [
  {
    xmmc: '示例高速公路聊城绕城段（合成示例）',
    xmlx: '高速公路',
    pzwh: '合成示例-聊发改审〔2026〕1号',
    parts: [[[116.58, 36.5], [116.3, 36.45], [116.12, 36.38], [115.95, 36.33], [115.7, 36.38], [115.5, 36.45], [115.31, 36.52]]],
  },
  {
    xmmc: '示例城际铁路聊城至临清段（合成示例）',
    xmlx: '铁路',
    pzwh: '合成示例-鲁发改基础〔2026〕2号',
    parts: [
      [[116.0, 36.4], [115.96, 36.55], [115.85, 36.7], [115.72, 36.8], [115.6, 36.99]],
      [[115.96, 36.55], [116.05, 36.65], [116.16, 36.76], [116.225, 36.845]],
    ],
  },
  {
    xmmc: '示例引黄输水干线（合成示例）',
    xmlx: '水利',
    pzwh: '合成示例-聊水审〔2026〕3号',
    parts: [[[116.1, 36.06], [116.2, 36.2], [116.26, 36.3], [116.3, 36.45], [116.27, 36.57]]],
  },
];

/** The 重大项目选线 shapefile layer (PolyLine, EPSG:4548). */
export function buildProjectsLayer(): ShapefileLayer {
  return {
    shapeType: 'PolyLine',
    fields: [
      { name: 'BSM', type: 'C', length: 18 },
      { name: 'XMMC', type: 'C', length: 80 },
      { name: 'XMLX', type: 'C', length: 20 },
      { name: 'PZWH', type: 'C', length: 60 },
    ],
    features: PROJECTS.map((project, i) => ({
      lines: project.parts.map((part) => smoothLine(part, 100).map(projectToGk)),
      properties: {
        BSM: `${CITY_XZQDM}4${String(i + 1).padStart(11, '0')}`,
        XMMC: project.xmmc,
        XMLX: project.xmlx,
        PZWH: project.pzwh,
      },
    })),
  };
}
