/**
 * The fake backend's notification stream and out-of-office delegations: what the Rust
 * commands `notifications_*`, `delegat*` answer, in memory. Used by fake-backend.ts.
 */
import type { Channel } from "@tauri-apps/api/core";
import type { CreateDelegation, Delegate, Delegation, Notification } from "@/bindings/types";
import { ME_STAFF_ID } from "./fixtures";

const MINUTE = 60_000;

/** A request to decide, a decided one of mine, one of mine expiring, a session to approve. */
export function makeNotifications(now: number = Date.now()): Notification[] {
  const base = {
    approval_id: null,
    approval_kind: null,
    impersonation_id: null,
    amount: null,
    org_name: null,
    actor_name: null,
    decision: null,
  } satisfies Partial<Notification>;
  return [
    {
      ...base,
      kind: "to_decide",
      approval_id: "appr-n-1",
      approval_kind: "refund",
      amount: { amount_minor: 3_000_000, currency: "EUR" },
      org_name: "Acme Corporation",
      actor_name: "Carl Jensen",
      at: new Date(now - 3 * MINUTE).toISOString(),
    },
    {
      ...base,
      kind: "decided",
      approval_id: "appr-n-2",
      approval_kind: "credit_note",
      amount: { amount_minor: 45_000, currency: "EUR" },
      org_name: "Globex",
      actor_name: "Ana Costa",
      decision: "reject",
      at: new Date(now - 40 * MINUTE).toISOString(),
    },
    {
      ...base,
      kind: "my_request_expires_soon",
      approval_id: "appr-n-3",
      approval_kind: "vendor_bank_change",
      org_name: "Initech",
      at: new Date(now + 5 * 60 * MINUTE).toISOString(),
    },
    {
      ...base,
      kind: "session_to_approve",
      impersonation_id: "sess-n-1",
      org_name: "Acme Corporation",
      actor_name: "Alice Martin",
      at: new Date(now - 2 * 60 * MINUTE).toISOString(),
    },
  ];
}

export function makeDelegates(): Delegate[] {
  return [
    { id: "staff-andy", name: "Andy Novak" },
    { id: "staff-ana", name: "Ana Costa" },
    { id: "staff-cora", name: "Cora Lindqvist" },
  ];
}

export type NotificationsOptions = {
  /** What the server would list (default: none). */
  notifications?: Notification[];
  /** Delegations given by or to the signed-in user (default: none). */
  delegations?: Delegation[];
  /** Whom the user may delegate to (default: makeDelegates()). */
  delegates?: Delegate[];
};

type Fail = (code: "offline" | "not_found" | "invalid_request" | "not_signed_in", detail?: string) => unknown;
type Send = <T>(channel: Channel<T>, index: number, message: T) => void;

export function createFakeNotifications(
  options: NotificationsOptions,
  ctx: { online: () => boolean; fail: Fail; send: Send },
) {
  const notifications = (options.notifications ?? []).map((n) => ({ ...n }));
  const delegations = (options.delegations ?? []).map((d) => ({ ...d }));
  const delegates = options.delegates ?? makeDelegates();
  const watchers: { channel: Channel<Notification>; index: number; stop: () => void }[] = [];
  const online = () => {
    if (!ctx.online()) throw ctx.fail("offline");
  };
  const handlers = {
    notifications_list: () => {
      online();
      return notifications.map((n) => ({ ...n }));
    },
    // Like Rust: runs until sign-out (or a newer watch), replaying what stands first.
    notifications_watch: ({ on_notification }: Record<string, unknown>) =>
      new Promise<null>((resolve) => {
        while (watchers.length) watchers.pop()!.stop();
        const w = { channel: on_notification as Channel<Notification>, index: 0, stop: () => resolve(null) };
        watchers.push(w);
        for (const n of notifications) ctx.send(w.channel, w.index++, n);
      }),
    delegations_list: () => {
      online();
      return delegations.map((d) => ({ ...d }));
    },
    delegates_list: () => {
      online();
      return delegates;
    },
    delegation_create: ({ request }: Record<string, unknown>) => {
      online();
      const r = request as CreateDelegation;
      const delegate = delegates.find((d) => d.id === r.delegate_id);
      if (!delegate) throw ctx.fail("not_found");
      const start = Date.parse(r.starts_at);
      const end = Date.parse(r.ends_at);
      if (!(end > start) || end <= Date.now() || end - start > 31 * 24 * 60 * MINUTE) {
        throw ctx.fail(
          "invalid_request",
          "The window must end after it starts, in the future, and last at most 31 days.",
        );
      }
      const d: Delegation = {
        id: `deleg-${delegations.length + 1}`,
        delegator_id: ME_STAFF_ID,
        delegator_name: "Alice Martin",
        delegate_id: delegate.id,
        delegate_name: delegate.name,
        starts_at: new Date(start).toISOString(),
        ends_at: new Date(end).toISOString(),
        revoked: false,
        mine: true,
      };
      delegations.unshift(d);
      return d;
    },
    delegation_revoke: ({ delegation_id }: Record<string, unknown>) => {
      online();
      const d = delegations.find((x) => x.id === delegation_id && x.delegator_id === ME_STAFF_ID);
      if (!d) throw ctx.fail("not_found");
      d.revoked = true;
      return { ...d };
    },
  };
  return {
    handlers,
    notifications,
    delegations,
    /** The server notices something: listed, and sent to the running watch. */
    emit(n: Notification) {
      notifications.unshift(n);
      for (const w of watchers) ctx.send(w.channel, w.index++, n);
    },
    /** Sign-out ends the watch. */
    stop() {
      while (watchers.length) watchers.pop()!.stop();
    },
  };
}
