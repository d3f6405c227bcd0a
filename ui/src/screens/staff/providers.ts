import { useQuery } from "@tanstack/react-query";
import type { Provider } from "@/bindings/types";
import { appStateQuery } from "@/lib/queries";

/** The server's identity providers (GET /v1/client-config, as the app holds it). */
export function useProviders(): Provider[] {
  const { data } = useQuery(appStateQuery);
  return data?.server?.providers ?? [];
}

/** The name of the provider at `issuer`, or null when the server no longer offers it. */
export function useProviderName(issuer: string): string | null {
  return useProviders().find((p) => p.issuer === issuer)?.name ?? null;
}
