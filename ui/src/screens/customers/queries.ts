import { queryOptions } from "@tanstack/react-query";
import {
  orgGet,
  orgInvoices,
  orgPayments,
  orgUsers,
  orgVendors,
  orgsList,
} from "@/bindings/commands";

export const orgsListQuery = queryOptions({ queryKey: ["orgs_list"] as const, queryFn: orgsList });

export const orgQuery = (orgId: string) =>
  queryOptions({ queryKey: ["org_get", orgId] as const, queryFn: () => orgGet(orgId) });

export const orgUsersQuery = (orgId: string) =>
  queryOptions({ queryKey: ["org_users", orgId] as const, queryFn: () => orgUsers(orgId) });

export const orgInvoicesQuery = (orgId: string) =>
  queryOptions({ queryKey: ["org_invoices", orgId] as const, queryFn: () => orgInvoices(orgId) });

export const orgVendorsQuery = (orgId: string) =>
  queryOptions({ queryKey: ["org_vendors", orgId] as const, queryFn: () => orgVendors(orgId) });

export const orgPaymentsQuery = (orgId: string) =>
  queryOptions({ queryKey: ["org_payments", orgId] as const, queryFn: () => orgPayments(orgId) });
