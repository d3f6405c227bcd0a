import { z } from "zod";

export const SESSION_LISTS = ["to_approve", "review", "reviewed"] as const;
export type SessionList = (typeof SESSION_LISTS)[number];

/** /sessions?list=&agent=&org=&flagged=&q=&open= */
export const sessionsSearchSchema = z.object({
  list: z.enum(SESSION_LISTS).optional().catch(undefined),
  /** The agent (staff id). */
  agent: z.string().optional().catch(undefined),
  /** The customer (org id). */
  org: z.string().optional().catch(undefined),
  /** Reviewed: only the flagged ones. */
  flagged: z.boolean().optional().catch(undefined),
  q: z.string().optional().catch(undefined),
  open: z.string().optional().catch(undefined),
});
export type SessionsSearch = z.infer<typeof sessionsSearchSchema>;
