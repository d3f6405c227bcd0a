import { useQuery } from "@tanstack/react-query";
import type { AccountView, Permission } from "@/bindings/types";
import { appStateQuery } from "@/lib/queries";

/** The permission a masked field's reveal needs (API.md, "Reveal"); null: not revealable here. */
export function revealPermissionFor(field: string): Permission | null {
  switch (field) {
    case "email":
    case "phone":
    case "address":
      return "pii:reveal";
    case "iban":
    case "tax_id":
      return "finance:reveal";
    default:
      return null;
  }
}

export function hasPermission(account: AccountView | null | undefined, p: Permission): boolean {
  return !!account?.permissions.includes(p);
}

/** The signed-in account (null before sign-in) and a permission check. */
export function useAccount() {
  const { data } = useQuery(appStateQuery);
  const account = data?.account ?? null;
  return {
    account,
    can: (p: Permission) => hasPermission(account, p),
  };
}
