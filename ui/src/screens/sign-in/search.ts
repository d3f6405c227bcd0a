import { z } from "zod";

/** /sign-in?reason=<code>: why the user was sent here (e.g. signed_out). */
export const signInSearchSchema = z.object({
  reason: z.string().optional().catch(undefined),
});
