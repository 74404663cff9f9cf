import { SettingError } from '../base/errors.js';
import type { ImageShape } from '../base/shapes.js';

/**
 * A PNG as the model's input: H·W·C values in [0, 1], row-major HWC (grey for one channel, RGB for
 * three, alpha dropped). The image must have the model's size: it is not resized, so what is
 * certified is exactly the image sent. sharp refuses anything larger than H·W pixels before
 * decoding it, so a small file cannot expand into a large allocation.
 */
export async function decodePng(bytes: Buffer, [h, w, c]: ImageShape): Promise<Float32Array> {
  const { default: sharp } = await import('sharp');
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    const image = sharp(bytes, { limitInputPixels: h * w, failOn: 'error' });
    const meta = await image.metadata();
    if (meta.format !== 'png') throw new Error(`it is ${meta.format ?? 'not an image'}`);
    decoded = await (c === 1 ? image.removeAlpha().greyscale() : image.removeAlpha().toColourspace('srgb'))
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new SettingError('png', () => `png is not a PNG of at most ${w}×${h} pixels (${e instanceof Error ? e.message : String(e)})`);
  }
  const { width, height, channels } = decoded.info;
  if (width !== w || height !== h) throw new SettingError('png', () => `png is ${width}×${height} pixels; the model takes ${w}×${h}`);
  if (channels !== c) throw new SettingError('png', () => `png decodes to ${channels} channels; the model takes ${c}`);
  return Float32Array.from(decoded.data, (v) => v / 255);
}
