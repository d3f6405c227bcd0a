import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, vi } from "vitest";

// jsdom has no layout. Give the virtualized tables' scroll containers a viewport so
// TanStack Virtual renders a window of rows, as a real window would.
Object.defineProperty(HTMLElement.prototype, "clientHeight", {
  configurable: true,
  get(this: HTMLElement) {
    return this.hasAttribute("data-virtual-scroll") ? 600 : 0;
  },
});
Object.defineProperty(HTMLElement.prototype, "clientWidth", {
  configurable: true,
  get(this: HTMLElement) {
    return this.hasAttribute("data-virtual-scroll") ? 1000 : 0;
  },
});

// Browser APIs Radix, cmdk and TanStack Virtual expect and jsdom lacks.
class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= ResizeObserverStub as unknown as typeof ResizeObserver;
window.scrollTo = () => {};
// axe-core probes canvas for icon fonts; jsdom has none.
HTMLCanvasElement.prototype.getContext = () => null;
Element.prototype.scrollIntoView ??= function scrollIntoView() {};
Element.prototype.scrollTo ??= function scrollTo() {} as typeof Element.prototype.scrollTo;
Element.prototype.hasPointerCapture ??= () => false;
Element.prototype.setPointerCapture ??= () => {};
Element.prototype.releasePointerCapture ??= () => {};
window.matchMedia ??= (query: string) =>
  ({
    matches: false,
    media: query,
    onchange: null,
    addEventListener: () => {},
    removeEventListener: () => {},
    addListener: () => {},
    removeListener: () => {},
    dispatchEvent: () => false,
  }) as unknown as MediaQueryList;

afterEach(() => {
  cleanup();
  clearMocks();
  vi.useRealTimers();
  localStorage.clear();
  sessionStorage.clear();
  document.documentElement.className = "";
  document.title = "";
});
