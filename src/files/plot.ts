import { extname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../base/errors.js';
import { writeFileAtomic } from './atomic.js';
import { plotSpec, type PlotSeries } from '../report/plot-spec.js';

// Rendering and writing the plot (Node: resvg and files); the spec itself is plot-spec.ts.
// vega, vega-lite and resvg load on the first plot: every command that never plots starts
// faster (vega alone takes a fifth of a second to import).

/** Renders the certified-accuracy plot to SVG. */
export function renderPlotSvg(series: readonly PlotSeries[]): Promise<string> {
  return renderSvg(plotSpec(series));
}

/** Renders a vega-lite spec to SVG with vega's headless view (no canvas needed). */
async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The image type a plot file name asks for; anything but .svg or .png is a UserError. */
export function plotFormat(file: string): 'svg' | 'png' {
  const ext = extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') {
    throw new UserError(`cannot plot to ${file}: the name must end in .svg or .png`);
  }
  return ext === '.svg' ? 'svg' : 'png';
}

/** Writes the certified-accuracy plot to `file` as SVG or, for a .png name, as a PNG at twice the SVG's size. */
export function writePlot(series: readonly PlotSeries[], file: string): Promise<void> {
  return writeSpec(plotSpec(series), file);
}

/** Writes any vega-lite spec to `file` as SVG or PNG (by its extension). */
export async function writeSpec(spec: TopLevelSpec, file: string): Promise<void> {
  const format = plotFormat(file);
  const svg = await renderSvg(spec);
  if (format === 'svg') {
    writeFileAtomic(file, svg);
    return;
  }
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } }).render().asPng();
  writeFileAtomic(file, png);
}
