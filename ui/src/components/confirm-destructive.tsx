import type { ReactNode } from "react";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "@/components/ui/alert-dialog";
import { Spinner } from "@/components/ui/spinner";

/**
 * The confirmation of what cannot be undone (UI.md: sign out and wipe, wipe local data;
 * part 2: reject, end a session, deactivate). The action names its object; while it
 * runs, the dialog stays open and neither button can be pressed again.
 */
export function ConfirmDestructive({
  open,
  onOpenChange,
  title,
  description,
  cancel,
  action,
  pending,
  onConfirm,
  testId,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: ReactNode;
  description: ReactNode;
  cancel: string;
  action: ReactNode;
  pending: boolean;
  onConfirm: () => void;
  testId: string;
}) {
  return (
    <AlertDialog open={open} onOpenChange={(next) => !pending && onOpenChange(next)}>
      <AlertDialogContent>
        <AlertDialogHeader>
          <AlertDialogTitle>{title}</AlertDialogTitle>
          <AlertDialogDescription>{description}</AlertDialogDescription>
        </AlertDialogHeader>
        <AlertDialogFooter>
          <AlertDialogCancel disabled={pending}>{cancel}</AlertDialogCancel>
          <AlertDialogAction
            variant="destructive"
            data-testid={testId}
            disabled={pending}
            onClick={(e) => {
              // Stay open until the action has run (its outcome closes or explains).
              e.preventDefault();
              onConfirm();
            }}
          >
            {pending && <Spinner />}
            {action}
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}
