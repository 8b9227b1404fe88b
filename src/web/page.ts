// What both web pages share: the engine on navigator.gpu with a readable message when the browser
// has no WebGPU, the adapter line, error display, and `window.normlab`, the state the browser tests
// (test/browser/) read instead of scraping the page.
import { Engine } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';

export type PageState = 'loading' | 'ready' | 'running' | 'done' | 'stopped' | 'error' | 'no-webgpu';

export interface PageStatus {
  state: PageState;
  /** The adapter as normlab describes it, once known. */
  adapter: { description: string; software: boolean; features: string[] } | null;
  error: string | null;
  [key: string]: unknown;
}

declare global {
  interface Window {
    normlab: PageStatus;
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export const status: PageStatus = { state: 'loading', adapter: null, error: null };
window.normlab = status;

export function setState(state: PageState): void {
  status.state = state;
  document.body.dataset.state = state;
}

/** Shows a problem in the page's banner (and in window.normlab.error). */
export function showError(e: unknown, state: PageState = 'error'): void {
  const message = e instanceof Error ? e.message : String(e);
  status.error = message;
  setState(state);
  if (state === 'no-webgpu') byId('adapter').textContent = 'none';
  const banner = byId('banner');
  banner.className = state === 'no-webgpu' ? 'banner problem no-webgpu' : 'banner problem';
  banner.textContent = message;
  if (!(e instanceof UserError)) console.error(e);
}

/** A short description of the adapter for the page header. */
export function adapterText(engine: Engine): string {
  const i = engine.adapterInfo;
  const name = [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unknown adapter';
  return `${name}${i.software ? ' (software: a CPU implementation of WebGPU)' : ''}`;
}

/**
 * The engine on this browser's GPU, or null after the page says why there is none (device.ts words
 * it: no navigator.gpu at all, or no adapter behind it).
 */
export async function startEngine(): Promise<Engine | null> {
  try {
    const engine = await Engine.create();
    const i = engine.adapterInfo;
    status.adapter = { description: adapterText(engine), software: i.software, features: i.features };
    byId('adapter').textContent = adapterText(engine);
    engine.device.lost.then((info) => {
      if (info.reason !== 'destroyed') showError(new Error(`the GPU device was lost (${info.reason}): ${info.message}. Reload the page.`));
    });
    return engine;
  } catch (e) {
    showError(e, e instanceof UserError ? 'no-webgpu' : 'error');
    return null;
  }
}

/** Catches what a page's main function throws, so it shows in the page rather than only the console. */
export function runPage(main: () => Promise<void>): void {
  main().catch((e) => showError(e));
}
