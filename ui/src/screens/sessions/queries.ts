import { queryOptions } from "@tanstack/react-query";
import { sessionGet, sessionsList } from "@/bindings/commands";
import type { ImpersonationFilter } from "@/bindings/types";
import type { SessionList } from "./search";

/** The server's largest page. */
const PAGE = 200;

const FILTER: Record<SessionList, (flagged: boolean) => Omit<ImpersonationFilter, "agent_id">> = {
  to_approve: () => ({ status: "pending_approval", review: null, limit: PAGE }),
  review: () => ({ status: null, review: "unreviewed", limit: PAGE }),
  reviewed: (flagged) => ({ status: null, review: flagged ? "flagged" : "reviewed", limit: PAGE }),
};

/** One list of the supervisor's queue; the agent filter is the server's, the customer filter is applied here. */
export const sessionsQuery = (list: SessionList, agent: string | undefined, flagged: boolean) =>
  queryOptions({
    queryKey: ["sessions_list", list, agent ?? null, flagged] as const,
    queryFn: async () => {
      const page = await sessionsList({ ...FILTER[list](flagged), agent_id: agent ?? null });
      return { items: page.items, more: page.next_cursor !== null };
    },
    // A supervisor's queue changes under them (a session asks for approval, one ends): kept live.
    refetchInterval: 15_000,
  });

/** A session with its timeline; opening it is audited by the server, so it is fetched once per opening. */
export const sessionQuery = (id: string) =>
  queryOptions({
    queryKey: ["session_get", id] as const,
    queryFn: () => sessionGet(id),
    staleTime: Infinity,
    // Each opening reads it anew (a session waiting when first opened may be over now).
    refetchOnMount: "always",
  });
