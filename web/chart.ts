import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const views = new WeakMap<HTMLElement, View>();

/** Renders a vega-lite spec as SVG into `el`, replacing the chart drawn there before. */
export async function drawChart(el: HTMLElement, spec: TopLevelSpec): Promise<void> {
  views.get(el)?.finalize();
  const view = new View(parse(compile(spec).spec), { renderer: 'svg', container: el });
  views.set(el, view);
  await view.runAsync();
}

/** Removes the chart drawn in `el`, leaving `text` in its place. */
export function clearChart(el: HTMLElement, text: string): void {
  views.get(el)?.finalize();
  views.delete(el);
  el.textContent = text;
}
