import { Type, type Static } from 'typebox';
import { DateOnly, Nullable, Pagination, PagingQuery, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';

export const VISIT_STATUSES = [
  'registered',
  'triaged',
  'waiting_consultation',
  'in_consultation',
  'waiting_lab',
  'lab_results_ready',
  'waiting_pharmacy',
  'completed',
  'cancelled',
] as const;
export type VisitStatus = (typeof VISIT_STATUSES)[number];
export const TRIAGE_CATEGORIES = ['emergency', 'urgent', 'normal'] as const;
export type TriageCategory = (typeof TRIAGE_CATEGORIES)[number];

export const VisitStatusSchema = Type.Enum([...VISIT_STATUSES]);
export const TriageCategory = Type.Enum([...TRIAGE_CATEGORIES]);

/**
 * Physiological ranges: a value outside them is a typing error (80 degrees, a pulse of 900), not a
 * patient, and is refused with 400.
 */
export const VITAL_RANGES = {
  temperature_c: { minimum: 25, maximum: 45 },
  pulse: { minimum: 20, maximum: 250 },
  bp_systolic: { minimum: 50, maximum: 300 },
  bp_diastolic: { minimum: 20, maximum: 200 },
  resp_rate: { minimum: 4, maximum: 80 },
  spo2: { minimum: 50, maximum: 100 },
  weight_kg: { minimum: 0.2, maximum: 500 },
  height_cm: { minimum: 20, maximum: 272 },
} as const;
export type VitalName = keyof typeof VITAL_RANGES;
export const VITAL_NAMES = Object.keys(VITAL_RANGES) as VitalName[];

const vital = (name: VitalName) => Nullable(Type.Number(VITAL_RANGES[name]));

export const Vitals = Type.Object({
  temperature_c: vital('temperature_c'),
  pulse: vital('pulse'),
  bp_systolic: vital('bp_systolic'),
  bp_diastolic: vital('bp_diastolic'),
  resp_rate: vital('resp_rate'),
  spo2: vital('spo2'),
  weight_kg: vital('weight_kg'),
  height_cm: vital('height_cm'),
});
export type Vitals = Static<typeof Vitals>;

/** Recorded vitals: any subset; a null clears a value. */
export const VitalsInput = Type.Object(
  {
    temperature_c: Type.Optional(vital('temperature_c')),
    pulse: Type.Optional(vital('pulse')),
    bp_systolic: Type.Optional(vital('bp_systolic')),
    bp_diastolic: Type.Optional(vital('bp_diastolic')),
    resp_rate: Type.Optional(vital('resp_rate')),
    spo2: Type.Optional(vital('spo2')),
    weight_kg: Type.Optional(vital('weight_kg')),
    height_cm: Type.Optional(vital('height_cm')),
  },
  { additionalProperties: false },
);
export type VitalsInput = Static<typeof VitalsInput>;

/**
 * An ICD-11 MMS code: a stem code such as `1A00`, `CA40.0` or `BA00.Z` (I and O are never used),
 * optionally post-coordinated with extension codes (`&XN6D3`, `/XK9J`).
 */
export const ICD11_PATTERN = '^[0-9A-HJ-NP-Z][A-HJ-NP-Z][0-9][0-9A-HJ-NP-Z](\\.[0-9A-HJ-NP-Z]{1,2})?([&/][0-9A-HJ-NP-Z]{4,6}(\\.[0-9A-HJ-NP-Z]{1,2})?){0,5}$';
export const Icd11Code = Type.String({ pattern: ICD11_PATTERN, maxLength: 60, description: 'ICD-11 MMS code, e.g. CA40.0 or 1A00' });

export const Diagnosis = Type.Object({ code: Type.String(), description: Type.String(), primary: Type.Boolean() });
export type Diagnosis = Static<typeof Diagnosis>;

export const DiagnosisInput = Type.Object(
  { code: Icd11Code, description: RequiredText(500), primary: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const Visit = Type.Object({
  id: Uuid,
  visit_number: Type.String(),
  patient_id: Uuid,
  status: VisitStatusSchema,
  triage_category: TriageCategory,
  chief_complaint: Nullable(Type.String()),
  vitals: Vitals,
  diagnoses: Type.Array(Diagnosis),
  notes: Nullable(Type.String()),
  created_by: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  completed_at: Nullable(Timestamp),
});
export type Visit = Static<typeof Visit>;

export const QueueEntry = Type.Object({
  ...Visit.properties,
  patient_name: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  op_number: Type.String(),
});

export const CreateVisitBody = Type.Object(
  {
    patient_id: Uuid,
    chief_complaint: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    triage_category: Type.Optional(TriageCategory),
  },
  { additionalProperties: false },
);

export const UpdateVisitBody = Type.Object(
  {
    vitals: Type.Optional(VitalsInput),
    diagnoses: Type.Optional(Type.Array(DiagnosisInput, { maxItems: 20 })),
    notes: Type.Optional(Nullable(Type.String({ maxLength: 20_000 }))),
    triage_category: Type.Optional(TriageCategory),
    chief_complaint: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateVisitBody = Static<typeof UpdateVisitBody>;

export const StatusBody = Type.Object({ status: VisitStatusSchema }, { additionalProperties: false });

export const VisitsQuery = Type.Object({
  ...PagingQuery(50, 200),
  status: Type.Optional(VisitStatusSchema),
  date: Type.Optional(DateOnly),
  patient_id: Type.Optional(Uuid),
});

export const VisitList = Type.Object({ visits: Type.Array(Visit), pagination: Pagination });
