import { UserError } from '../base/errors.js';
import type { InputLayout } from './classifier.js';

/** Parses --input-layout. */
export function parseInputLayout(text: string): InputLayout {
  const layout = text.trim().toLowerCase();
  if (layout !== 'nchw' && layout !== 'nhwc') {
    throw new UserError(`--input-layout must be nchw (PyTorch) or nhwc (TensorFlow, smoothcert export); got '${text}'`);
  }
  return layout;
}

/** Parses a --mean / --std list such as "0.4914,0.4822,0.4465" (commas or spaces). */
export function parseChannelList(text: string, flag: string): number[] {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  const values = parts.map(Number);
  if (parts.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new UserError(
      `${flag} must be a comma-separated list of numbers, one per channel (e.g. 0.5 or 0.4914,0.4822,0.4465); got '${text}'`,
    );
  }
  return values;
}
