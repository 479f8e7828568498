/**
 * Node's Buffer when there is one (faster small copies from its pool,
 * unzeroed allocation, native base64); elsewhere (a browser) it is
 * undefined and callers use plain Uint8Arrays. Read from globalThis so that
 * `src` imports nothing from node:*.
 */
export const NodeBuffer: typeof Buffer | undefined = (globalThis as { Buffer?: typeof Buffer }).Buffer;
