import { useId } from "react";
import { Controller, useFormContext, useWatch } from "react-hook-form";
import { z } from "zod";
import type { Money, OrgId, Region, Scope, StaffMember, StaffRole } from "@/bindings/types";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { approvalKindLabel } from "@/components/status-badge";
import { formatAmount, humanize, parseAmount } from "@/lib/format";
import { cn } from "@/lib/utils";
import { APPROVAL_KINDS } from "@/screens/approvals/search";

export const ROLES: StaffRole[] = [
  "support_agent",
  "support_supervisor",
  "finance_clerk",
  "finance_approver",
  "finance_controller",
  "auditor",
  "security_admin",
];
const REGIONS: Region[] = ["EU", "US"];
/** The limits' currency: the server's base currency (demo: EUR), in which every limit compares. */
export const LIMIT_CURRENCY = "EUR";

/** What a security admin decides about an account: roles, customer scope, approval limits. */
export const accessSchema = z.object({
  roles: z.array(z.string()),
  all_orgs: z.boolean(),
  regions: z.array(z.string()),
  limits: z.record(
    z.string(),
    z.string().refine((t) => t.trim() === "" || parseAmount(t, LIMIT_CURRENCY) !== null, {
      message: `An amount in ${LIMIT_CURRENCY}, or empty for no limit.`,
    }),
  ),
});
export type AccessValues = z.infer<typeof accessSchema>;

/** A form that edits access holds it under `access` (beside its own fields, if any). */
export type AccessForm = { access: AccessValues };

/** The form's values for an account's access; `null`: a new account (nothing granted). */
export function accessValuesOf(m: Pick<StaffMember, "roles" | "scope" | "approval_limits"> | null): AccessValues {
  return {
    roles: m?.roles ?? [],
    all_orgs: m?.scope.all_orgs ?? false,
    regions: m?.scope.regions ?? [],
    limits: Object.fromEntries(
      APPROVAL_KINDS.map((k) => {
        const l = m?.approval_limits[k];
        return [k, l ? formatAmount(l).replace(/,/g, "") : ""];
      }),
    ),
  };
}

/** The access the form's values grant, as the server takes it; `orgIds`: named customers kept as they are. */
export function accessOf(v: AccessValues, orgIds: OrgId[]) {
  return {
    roles: v.roles as StaffRole[],
    scope: { all_orgs: v.all_orgs, regions: v.regions as Region[], org_ids: orgIds } satisfies Scope,
    approval_limits: Object.fromEntries(
      Object.entries(v.limits).map(([k, t]) => [
        k,
        t.trim() ? ({ amount_minor: parseAmount(t, LIMIT_CURRENCY)!, currency: LIMIT_CURRENCY } as Money) : null,
      ]),
    ),
  };
}

const LEGEND = "text-muted-foreground mb-2 pt-3 text-xs font-medium tracking-wide uppercase";

/**
 * The role picker, customer scope and approval limits, in the form of the surrounding
 * FormProvider (its values under `access`): the staff sheet edits an account with them, the
 * Add staff member dialog a new one.
 */
export function AccessFields({ disabled = false, keptOrgIds = 0 }: { disabled?: boolean; keptOrgIds?: number }) {
  const form = useFormContext<AccessForm>();
  const id = useId();
  const allOrgs = useWatch({ control: form.control, name: "access.all_orgs" });
  const errors = form.formState.errors.access;
  const rolesError = errors?.roles?.message;
  return (
    <>
      <fieldset className="border-t py-3" disabled={disabled} aria-describedby={rolesError ? `${id}-roles-error` : undefined}>
        <legend className={LEGEND}>Roles</legend>
        <div className="grid grid-cols-2 gap-2">
          <Controller
            control={form.control}
            name="access.roles"
            render={({ field }) => (
              <>
                {ROLES.map((r) => (
                  <Label key={r} className="font-normal">
                    <Checkbox
                      checked={field.value.includes(r)}
                      disabled={disabled}
                      aria-invalid={!!rolesError}
                      onCheckedChange={(on) =>
                        field.onChange(on ? [...field.value, r] : field.value.filter((x) => x !== r))
                      }
                      data-testid={`role-${r}`}
                    />
                    {humanize(r)}
                  </Label>
                ))}
              </>
            )}
          />
        </div>
        {rolesError && (
          <p id={`${id}-roles-error`} role="alert" className="text-destructive mt-2 text-sm">
            {rolesError}
          </p>
        )}
      </fieldset>
      <fieldset className="border-t py-3" disabled={disabled}>
        <legend className={LEGEND}>Customer scope</legend>
        <div className="flex flex-wrap gap-4">
          <Controller
            control={form.control}
            name="access.all_orgs"
            render={({ field }) => (
              <Label className="font-normal">
                <Checkbox
                  checked={field.value}
                  disabled={disabled}
                  onCheckedChange={(on) => field.onChange(on === true)}
                  data-testid="scope-all"
                />
                All customers
              </Label>
            )}
          />
          <Controller
            control={form.control}
            name="access.regions"
            render={({ field }) => (
              <>
                {REGIONS.map((r) => (
                  <Label key={r} className="font-normal">
                    <Checkbox
                      checked={field.value.includes(r)}
                      disabled={disabled || allOrgs}
                      onCheckedChange={(on) =>
                        field.onChange(on ? [...field.value, r] : field.value.filter((x) => x !== r))
                      }
                      data-testid={`scope-${r}`}
                    />
                    Region {r}
                  </Label>
                ))}
              </>
            )}
          />
        </div>
        {keptOrgIds > 0 && (
          <p className="text-muted-foreground mt-2 text-xs">
            Plus {keptOrgIds} named customer{keptOrgIds === 1 ? "" : "s"} (kept as they are).
          </p>
        )}
      </fieldset>
      <fieldset className="border-t py-3" disabled={disabled}>
        <legend className={LEGEND}>Approval limits ({LIMIT_CURRENCY}, empty: no limit)</legend>
        <div className="grid grid-cols-[10rem_minmax(0,1fr)] items-center gap-x-3 gap-y-2">
          {APPROVAL_KINDS.map((k) => {
            const error = errors?.limits?.[k]?.message;
            return (
              <div key={k} className="contents">
                <Label htmlFor={`${id}-limit-${k}`} className="text-muted-foreground font-normal">
                  {approvalKindLabel(k)}
                </Label>
                <div>
                  <Input
                    id={`${id}-limit-${k}`}
                    {...form.register(`access.limits.${k}`)}
                    inputMode="decimal"
                    placeholder="No limit"
                    aria-invalid={!!error}
                    aria-describedby={error ? `${id}-limit-${k}-error` : undefined}
                    className={cn("tabular h-8", error && "border-destructive")}
                    data-testid={`limit-${k}`}
                  />
                  {error && (
                    <p id={`${id}-limit-${k}-error`} className="text-destructive mt-1 text-xs">
                      {error}
                    </p>
                  )}
                </div>
              </div>
            );
          })}
        </div>
      </fieldset>
    </>
  );
}
