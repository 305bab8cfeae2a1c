/**
 * Adapts a Node `MessagePort` to the DOM-style endpoint comlink expects (comlink's own node
 * adapter is not part of its published entry points).
 */
import type { MessagePort } from 'node:worker_threads';
import type { Endpoint } from 'comlink';

type Handler = Parameters<Endpoint['addEventListener']>[1];

export function portEndpoint(port: MessagePort): Endpoint {
  const listeners = new Map<unknown, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: unknown[]) => port.postMessage(message, transfer as never),
    addEventListener: (_type: string, handler: Handler) => {
      const l = (data: unknown) => {
        const event = { data } as Parameters<Extract<Handler, (...args: never[]) => unknown>>[0];
        if (typeof handler === 'function') handler(event);
        else handler.handleEvent(event);
      };
      port.on('message', l);
      listeners.set(handler, l);
    },
    removeEventListener: (_type: string, handler: Handler) => {
      const l = listeners.get(handler);
      if (!l) return;
      port.off('message', l);
      listeners.delete(handler);
    },
    start: () => port.start(),
  };
}
