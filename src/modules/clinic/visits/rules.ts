import { VITAL_NAMES, type Diagnosis, type TriageCategory, type Visit, type Vitals, type VitalsInput, type VisitStatus } from './schema.js';

/** The visit's path through the clinic; every other move is refused (409). */
const NEXT: Record<VisitStatus, readonly VisitStatus[]> = {
  registered: ['triaged', 'cancelled'],
  triaged: ['waiting_consultation', 'cancelled'],
  waiting_consultation: ['in_consultation', 'cancelled'],
  in_consultation: ['waiting_lab', 'waiting_pharmacy', 'cancelled'],
  waiting_lab: ['lab_results_ready', 'cancelled'],
  lab_results_ready: ['in_consultation', 'cancelled'],
  waiting_pharmacy: ['completed', 'cancelled'],
  completed: [],
  cancelled: [],
};

export const CLOSED_STATUSES: readonly VisitStatus[] = ['completed', 'cancelled'];
export const isOpen = (status: VisitStatus): boolean => !CLOSED_STATUSES.includes(status);

export function canMove(from: VisitStatus, to: VisitStatus): boolean {
  return NEXT[from].includes(to);
}

export const allowedMoves = (from: VisitStatus): readonly VisitStatus[] => NEXT[from];

export const TRIAGE_RANK: Record<TriageCategory, number> = { emergency: 0, urgent: 1, normal: 2 };

export const EMPTY_VITALS: Vitals = {
  temperature_c: null,
  pulse: null,
  bp_systolic: null,
  bp_diastolic: null,
  resp_rate: null,
  spo2: null,
  weight_kg: null,
  height_cm: null,
};

/**
 * New readings replace old ones field by field (a nurse records what she measured); null clears.
 * Returns the problem when the result is impossible (diastolic at or above systolic).
 */
export function mergeVitals(current: Vitals, input: VitalsInput): { vitals: Vitals; problem?: { field: string; message: string } } {
  const vitals: Vitals = { ...EMPTY_VITALS, ...current };
  for (const [key, value] of Object.entries(input) as Array<[keyof Vitals, number | null | undefined]>) {
    if (value !== undefined) vitals[key] = value;
  }
  if (vitals.bp_systolic !== null && vitals.bp_diastolic !== null && vitals.bp_diastolic >= vitals.bp_systolic) {
    return { vitals, problem: { field: 'vitals.bp_diastolic', message: 'must be lower than bp_systolic' } };
  }
  return { vitals };
}

/**
 * At most one primary diagnosis; when none is marked, the first is the primary one (as in a claim).
 * Returns null when more than one is marked primary.
 */
export function normaliseDiagnoses(input: Array<{ code: string; description: string; primary?: boolean }>): Diagnosis[] | null {
  const primaries = input.filter((diagnosis) => diagnosis.primary === true).length;
  if (primaries > 1) return null;
  return input.map((diagnosis, index) => ({
    code: diagnosis.code.toUpperCase(),
    description: diagnosis.description.trim(),
    primary: primaries === 0 ? index === 0 : diagnosis.primary === true,
  }));
}

export interface VisitEdit {
  vitals?: Vitals;
  diagnoses?: Diagnosis[];
  notes?: string | null;
  triage_category?: TriageCategory;
  chief_complaint?: string | null;
}

const sameDiagnoses = (a: Diagnosis[], b: Diagnosis[]): boolean =>
  a.length === b.length && a.every((d, i) => d.code === b[i]!.code && d.description === b[i]!.description && d.primary === b[i]!.primary);

/** The part of an edit that changes the visit: an empty object when it changes nothing. */
export function visitChanges(current: Pick<Visit, keyof VisitEdit>, edit: VisitEdit): VisitEdit {
  const changes: VisitEdit = {};
  if (edit.vitals && VITAL_NAMES.some((name) => edit.vitals![name] !== current.vitals[name])) changes.vitals = edit.vitals;
  if (edit.diagnoses && !sameDiagnoses(edit.diagnoses, current.diagnoses)) changes.diagnoses = edit.diagnoses;
  if (edit.notes !== undefined && edit.notes !== current.notes) changes.notes = edit.notes;
  if (edit.triage_category !== undefined && edit.triage_category !== current.triage_category) changes.triage_category = edit.triage_category;
  if (edit.chief_complaint !== undefined && edit.chief_complaint !== current.chief_complaint) changes.chief_complaint = edit.chief_complaint;
  return changes;
}

export const formatVisitNumber = (day: string, n: number): string => `VIS-${day.replace(/-/g, '')}-${String(n).padStart(3, '0')}`;
