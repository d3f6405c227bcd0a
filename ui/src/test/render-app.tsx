import { render } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryHistory } from "@tanstack/react-router";
import { mockIPC } from "@tauri-apps/api/mocks";
import { vi } from "vitest";
import { App } from "@/app/app";
import { createQueryClient } from "@/app/query-client";
import { createAppRouter } from "@/app/router";
import {
  createFakeBackend,
  type FakeBackend,
  type FakeBackendOptions,
} from "@/dev/fake-backend";

/**
 * Renders the whole app at `path` with the IPC answered by the fake backend through the
 * official mockIPC (our own modules are never mocked).
 */
export function renderApp({
  path = "/",
  backend = {},
  fakeTimers = false,
}: {
  path?: string;
  backend?: FakeBackendOptions | FakeBackend;
  fakeTimers?: boolean;
} = {}) {
  const fake = "handle" in backend ? backend : createFakeBackend({ lastSyncedAt: new Date().toISOString(), ...backend });
  mockIPC((cmd, args) => fake.handle(cmd, args as Record<string, unknown>));
  const queryClient = createQueryClient();
  const router = createAppRouter({
    queryClient,
    history: createMemoryHistory({ initialEntries: [path] }),
  });
  const user = userEvent.setup(fakeTimers ? { advanceTimers: vi.advanceTimersByTime } : {});
  const utils = render(<App queryClient={queryClient} router={router} />);
  return { ...utils, user, router, queryClient, backend: fake };
}

/** A promise that never settles: keeps a command "loading". */
export const forever = () => new Promise<never>(() => {});
