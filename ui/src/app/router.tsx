import type { QueryClient } from "@tanstack/react-query";
import {
  Outlet,
  createRootRouteWithContext,
  createRoute,
  createRouter,
  redirect,
  type RouterHistory,
} from "@tanstack/react-router";
import { appStateQuery, syncStatusQuery } from "@/lib/queries";
import { STAGE_PATH, type Stage } from "@/lib/session";
import { ServerScreen } from "@/screens/server/server-screen";
import { UpdateScreen } from "@/screens/update/update-screen";
import { SignInScreen } from "@/screens/sign-in/sign-in-screen";
import { signInSearchSchema } from "@/screens/sign-in/search";
import { FirstSyncScreen } from "@/screens/sync/first-sync-screen";
import { HomeScreen } from "@/screens/home/home-screen";
import { CustomersScreen } from "@/screens/customers/customers-screen";
import { OrgScreen } from "@/screens/customers/org-screen";
import { customersSearchSchema, orgSearchSchema } from "@/screens/customers/search";
import { SettingsScreen } from "@/screens/settings/settings-screen";
import { ApprovalsScreen } from "@/screens/approvals/approvals-screen";
import { approvalsSearchSchema } from "@/screens/approvals/search";
import { AuditScreen } from "@/screens/audit/audit-screen";
import { auditSearchSchema } from "@/screens/audit/search";
import { SessionsScreen } from "@/screens/sessions/sessions-screen";
import { sessionsSearchSchema } from "@/screens/sessions/search";
import { StaffScreen } from "@/screens/staff/staff-screen";
import { staffSearchSchema } from "@/screens/staff/search";
import { CustomerViewScreen } from "@/screens/support/customer-view-screen";
import { Shell } from "@/app/shell";
import { NotFound, RootError, Splash } from "@/app/root-states";

export type RouterContext = { queryClient: QueryClient };

/** Where the session says the app belongs (AppState, then whether the cache ever synced). */
async function stageOf(queryClient: QueryClient): Promise<Stage> {
  const state = await queryClient.ensureQueryData(appStateQuery);
  if (!state.server || state.server_error) return "server";
  if (state.update_required) return "update";
  if (!state.account) return "sign-in";
  const cached = queryClient.getQueryData(syncStatusQuery.queryKey);
  const status = cached?.last_synced_at ? cached : await queryClient.fetchQuery(syncStatusQuery);
  return status.last_synced_at ? "app" : "sync";
}

function goTo(stage: Stage): never {
  throw redirect({ to: STAGE_PATH[stage], replace: true });
}

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  errorComponent: RootError,
  notFoundComponent: NotFound,
});

const serverRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/server",
  loader: ({ context }) => context.queryClient.ensureQueryData(appStateQuery),
  component: ServerScreen,
});

const updateRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/update",
  beforeLoad: async ({ context }) => {
    const stage = await stageOf(context.queryClient);
    if (stage !== "update") goTo(stage);
  },
  component: UpdateScreen,
});

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sign-in",
  validateSearch: signInSearchSchema,
  beforeLoad: async ({ context }) => {
    const stage = await stageOf(context.queryClient);
    if (stage !== "sign-in") goTo(stage === "sync" ? "app" : stage);
  },
  component: SignInScreen,
});

const syncRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sync",
  beforeLoad: async ({ context }) => {
    const stage = await stageOf(context.queryClient);
    if (stage !== "sync") goTo(stage);
  },
  component: FirstSyncScreen,
});

const shellRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "shell",
  beforeLoad: async ({ context }) => {
    const stage = await stageOf(context.queryClient);
    if (stage !== "app") goTo(stage);
  },
  component: Shell,
});

const homeRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/",
  component: HomeScreen,
});

const customersRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/customers",
  validateSearch: customersSearchSchema,
  component: CustomersScreen,
});

const orgRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/customers/$orgId",
  validateSearch: orgSearchSchema,
  component: OrgScreen,
});

const approvalsRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/approvals",
  validateSearch: approvalsSearchSchema,
  component: ApprovalsScreen,
});

const sessionsRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/sessions",
  validateSearch: sessionsSearchSchema,
  component: SessionsScreen,
});

const auditRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/audit",
  validateSearch: auditSearchSchema,
  component: AuditScreen,
});

const staffRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/staff",
  validateSearch: staffSearchSchema,
  component: StaffScreen,
});

const supportRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/support",
  component: CustomerViewScreen,
});

const settingsRoute = createRoute({
  getParentRoute: () => shellRoute,
  path: "/settings",
  component: SettingsScreen,
});

const routeTree = rootRoute.addChildren([
  serverRoute,
  updateRoute,
  signInRoute,
  syncRoute,
  shellRoute.addChildren([homeRoute, customersRoute, orgRoute, approvalsRoute, sessionsRoute, auditRoute, staffRoute, supportRoute, settingsRoute]),
]);

export function createAppRouter({
  queryClient,
  history,
}: {
  queryClient: QueryClient;
  history: RouterHistory;
}) {
  return createRouter({
    routeTree,
    history,
    context: { queryClient },
    defaultPendingComponent: Splash,
    defaultPendingMs: 150,
    defaultPendingMinMs: 0,
    // Data comes from TanStack Query; the router only guards and routes.
    defaultPreloadStaleTime: 0,
    scrollRestoration: false,
  });
}

export type AppRouter = ReturnType<typeof createAppRouter>;

declare module "@tanstack/react-router" {
  interface Register {
    router: AppRouter;
  }
}
