/**
 * Kernels smoothcert defines beyond tfjs's own: the contract between code that runs them
 * (training/) and backends that may implement them (backend/). Neither side imports the
 * other; both import this module, which depends on nothing.
 */

/**
 * One variable's SGD momentum update in one pass, with the same float32 roundings as the tfjs
 * ops of training/sgd.ts. Inputs { v, g, buf }, attributes SgdStepAttrs; outputs [new v, new buf].
 * A backend without it gets the tfjs-op path.
 */
export const SGD_STEP_KERNEL = 'SmoothcertSgdStep';

export interface SgdStepAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  [key: string]: number | boolean;
}
