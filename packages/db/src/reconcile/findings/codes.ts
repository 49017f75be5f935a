import { describeCode, severityOf, type FindingCode } from '@pksync/core';

/** A finding code's Bahasa Indonesia description (the start of every message). */
export const desc = (code: FindingCode) => describeCode(code);
/** A finding code with its severity, as a finding row carries them. */
export const finding = (code: FindingCode) => ({ code, severity: severityOf(code) });
