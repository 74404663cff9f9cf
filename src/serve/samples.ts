import { isDatasetName, datasetInfo } from '../data/datasets.js';
import { loadDataset } from '../loaders/registry.js';
import type { Samples } from './api.js';

const COUNT = 16;

/**
 * The first COUNT test images of `dataset`, pixels in [0, 1] exactly as the Node library reads them
 * (float32 values survive JSON), so a certification in the page sees the CLI's inputs. Loaded once
 * per dataset; ImageNet is left out (decoding a folder of JPEGs for a preview is not worth it).
 */
export class SampleStore {
  private readonly loaded = new Map<string, Promise<Samples>>();

  constructor(private readonly dataDir?: string) {}

  get(dataset: string): Promise<Samples> | undefined {
    if (!isDatasetName(dataset) || dataset === 'imagenet') return undefined;
    let samples = this.loaded.get(dataset);
    if (samples === undefined) {
      samples = this.load(dataset);
      // A failure (no data folder) is not cached: the user may fix it while the server runs.
      samples.catch(() => this.loaded.delete(dataset));
      this.loaded.set(dataset, samples);
    }
    return samples;
  }

  private async load(dataset: string): Promise<Samples> {
    const ds = await loadDataset(dataset, 'test', this.dataDir === undefined ? {} : { dataDir: this.dataDir });
    const images = [];
    for (let i = 0; i < Math.min(COUNT, ds.size); i++) images.push({ index: i, label: ds.label(i), pixels: Array.from(await ds.image(i)) });
    const { classNames } = datasetInfo(dataset);
    return { dataset, shape: [...ds.shape], ...(classNames && { classNames }), images };
  }
}
