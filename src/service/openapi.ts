import type { ModelInfo } from './certifier.js';
import { REQUEST_SETTINGS } from './request.js';

/** A request field's schema from its declaration (service/request.ts): type, bounds, default, help. */
function field(key: keyof typeof REQUEST_SETTINGS): Record<string, unknown> {
  const s = REQUEST_SETTINGS[key];
  return {
    type: /integer/.test(s.kind.rule) ? 'integer' : 'number',
    description: `${s.help} (${s.kind.rule})`,
    ...('default' in s ? { default: s.default } : {}),
  };
}

const ERROR = {
  type: 'object',
  properties: { error: { type: 'string', description: 'one sentence: what was wrong' } },
  required: ['error'],
};

/** The OpenAPI 3.1 document of the certified prediction API, with the served model's input size in it. */
export function openApiDocument(model: ModelInfo): Record<string, unknown> {
  const [h, w, c] = model.inputShape;
  const image = {
    image: {
      type: 'array',
      items: { type: 'number', minimum: 0, maximum: 1 },
      minItems: h * w * c,
      maxItems: h * w * c,
      description: `${h}×${w}×${c} numbers in [0, 1], row-major HWC (as the datasets load)`,
    },
    png: { type: 'string', contentEncoding: 'base64', description: `a ${w}×${h} PNG instead of image (grey or RGB by the model)` },
  };
  const answer = {
    type: 'object',
    properties: {
      prediction: { type: ['integer', 'null'], description: 'the smoothed classifier’s class; null: it abstains' },
      certified: { type: 'boolean', description: 'certify with a radius: robust at that L2 radius' },
      radius: { type: 'number', description: 'certified L2 radius σ·Φ⁻¹(pABar)' },
      pABar: { type: 'number', description: 'lower confidence bound on the top class’s probability under noise' },
      pValue: { type: 'number', description: 'predict: binomial test of the top two counts' },
      samples: { type: 'integer', description: 'forward passes spent' },
      ms: { type: 'number', description: 'milliseconds spent' },
      budgetExhausted: { enum: ['maxN', 'deadline'], description: 'sampling stopped before the question was settled' },
    },
    required: ['prediction', 'samples', 'ms'],
  };
  const errors = Object.fromEntries(
    [
      ['400', 'a malformed request: wrong type, shape or range, bad JSON'],
      ['401', 'missing or wrong bearer token'],
      ['413', 'the body is too large'],
      ['429', 'too many requests in flight; retry after Retry-After seconds'],
      ['503', 'the server is stopping'],
    ].map(([code, description]) => [code, { description, content: { 'application/json': { schema: ERROR } } }]),
  );
  const post = (summary: string, fields: (keyof typeof REQUEST_SETTINGS)[]) => ({
    post: {
      summary,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { type: 'object', properties: { ...image, ...Object.fromEntries(fields.map((k) => [k, field(k)])) } },
          },
        },
      },
      responses: { '200': { description: 'the answer', content: { 'application/json': { schema: answer } } }, ...errors },
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'smoothcert certified prediction API',
      version: '1',
      description: `Randomized smoothing (Cohen et al., 2019) of a ${model.arch ?? 'base'} classifier at σ = ${model.sigma}: predictions and certified L2 radii.`,
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }, {}],
    paths: {
      '/v1/predict': post('PREDICT: the smoothed class, or an abstention', ['n', 'alpha', 'seed', 'deadlineMs']),
      '/v1/certify': post(
        'adaptive CERTIFY: decide robustness at radius, or find the radius to within tolerance·σ; with n, fixed-n CERTIFY',
        ['radius', 'tolerance', 'n', 'n0', 'maxN', 'alpha', 'seed', 'deadlineMs'],
      ),
      '/v1/model': {
        get: {
          summary: 'the served model: architecture, dataset, σ, input shape, classes',
          responses: { '200': { description: 'the model' } },
        },
      },
      '/v1/health': {
        get: { summary: 'liveness, requests in flight, forward passes so far', responses: { '200': { description: 'ok' } } },
      },
      '/v1/openapi.json': { get: { summary: 'this document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
