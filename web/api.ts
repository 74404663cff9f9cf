import type { RunsResponse, Samples } from '../src/serve/api.js';

export type { RunFile, RunInfo, RunsResponse, Samples } from '../src/serve/api.js';

/** GET a JSON route; the server's `{ error }` becomes the thrown message. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { cache: 'no-store' });
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `${url}: ${response.status}`);
  return body;
}

export async function getText(url: string): Promise<string> {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${((await response.json()) as { error?: string }).error ?? ''}`);
  return response.text();
}

export const getRuns = (): Promise<RunsResponse> => getJson('/api/runs');
export const getSamples = (dataset: string): Promise<Samples> => getJson(`/api/samples/${encodeURIComponent(dataset)}`);

/** The URL of file `name` of run `runId` (a folder URL when `name` is ''). */
export function fileUrl(runId: string, name: string): string {
  const folder = runId === '.' ? '' : `${runId.split('/').map(encodeURIComponent).join('/')}/`;
  return `/files/${folder}${encodeURIComponent(name)}`;
}
