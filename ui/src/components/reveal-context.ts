import { createContext, useContext } from "react";
import type { RecordType } from "@/bindings/types";

/** One masked field of one record, to be revealed with a reason. */
export type RevealTarget = {
  recordType: RecordType;
  recordId: string;
  /** The wire name of the field (`Masked.field`), e.g. "email" or "iban". */
  field: string;
  /** The field in words, e.g. "E-mail". */
  label: string;
  /** Whose field: "Jane Doe at Acme GmbH". */
  subject: string;
  /** The masked display form. */
  masked: string;
};

export type RevealOpener = (target: RevealTarget) => void;

/** Provided by the shell (which hosts the reveal dialog); used by MaskedValue. */
export const RevealContext = createContext<RevealOpener | null>(null);

export function useRevealOpener(): RevealOpener | null {
  return useContext(RevealContext);
}
