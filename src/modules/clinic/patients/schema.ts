import { Type, type Static } from 'typebox';
import { DateOnly, Nullable, Pagination, PagingQuery, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';

export const GENDERS = ['male', 'female', 'other'] as const;
export const INSURANCE_TYPES = ['sha', 'private', 'cash'] as const;

export const Gender = Type.Enum([...GENDERS]);
export const InsuranceType = Type.Enum([...INSURANCE_TYPES]);

const Name = RequiredText(100);
const Phone = Type.String({ minLength: 7, maxLength: 20, pattern: '^\\+?[0-9][0-9 ()-]{5,18}[0-9]$', description: 'e.g. 0712345678 or +254712345678' });
const NationalId = Type.String({ minLength: 4, maxLength: 20, pattern: '^[A-Za-z0-9-]+$' });
const InsuranceNumber = Type.String({ minLength: 3, maxLength: 40, pattern: '^[A-Za-z0-9][A-Za-z0-9 /-]*$' });
/** Optional, but when sent it must say something: `"   "` is 400, `null` clears the field. */
const Area = RequiredText(100);
const KinName = RequiredText(200);

export const Patient = Type.Object({
  id: Uuid,
  op_number: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  date_of_birth: Nullable(DateOnly),
  age: Nullable(Type.Integer()),
  gender: Gender,
  phone_number: Nullable(Type.String()),
  national_id: Nullable(Type.String()),
  area: Nullable(Type.String()),
  next_of_kin: Nullable(Type.String()),
  next_of_kin_phone: Nullable(Type.String()),
  insurance_type: InsuranceType,
  insurance_number: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Patient = Static<typeof Patient>;

/**
 * The patient of a visit as `GET /api/visits/:id` shows it. Roles that may read patients get the
 * whole record; the pharmacist and the lab technician, who may not, get only what identifies the
 * person in front of them and what their work needs (age and gender for doses and reference ranges):
 * never identifiers (national id, SHA number, date of birth), contact data or next of kin.
 */
const { id, op_number, first_name, last_name, gender, age, ...restricted } = Patient.properties;
export const PatientIdentification = Type.Object({ id, op_number, first_name, last_name, gender, age });
export type PatientIdentification = Static<typeof PatientIdentification>;
export const VisitPatient = Type.Object(
  { ...PatientIdentification.properties, ...Type.Partial(Type.Object(restricted)).properties },
  { description: 'The whole patient for roles that may read patients; only id, op_number, names, gender and age for the pharmacist and the lab technician' },
);

export const identification = (patient: Patient): PatientIdentification => ({
  id: patient.id,
  op_number: patient.op_number,
  first_name: patient.first_name,
  last_name: patient.last_name,
  gender: patient.gender,
  age: patient.age,
});

export const CreatePatientBody = Type.Object(
  {
    first_name: Name,
    last_name: Name,
    date_of_birth: Type.Optional(Nullable(DateOnly)),
    gender: Gender,
    phone_number: Type.Optional(Nullable(Phone)),
    national_id: Type.Optional(Nullable(NationalId)),
    area: Type.Optional(Nullable(Area)),
    next_of_kin: Type.Optional(Nullable(KinName)),
    next_of_kin_phone: Type.Optional(Nullable(Phone)),
    insurance_type: Type.Optional(InsuranceType),
    insurance_number: Type.Optional(Nullable(InsuranceNumber)),
  },
  { additionalProperties: false },
);
export type CreatePatientBody = Static<typeof CreatePatientBody>;

export const UpdatePatientBody = Type.Object(
  {
    first_name: Type.Optional(Name),
    last_name: Type.Optional(Name),
    date_of_birth: Type.Optional(Nullable(DateOnly)),
    gender: Type.Optional(Gender),
    phone_number: Type.Optional(Nullable(Phone)),
    national_id: Type.Optional(Nullable(NationalId)),
    area: Type.Optional(Nullable(Area)),
    next_of_kin: Type.Optional(Nullable(KinName)),
    next_of_kin_phone: Type.Optional(Nullable(Phone)),
    insurance_type: Type.Optional(InsuranceType),
    insurance_number: Type.Optional(Nullable(InsuranceNumber)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdatePatientBody = Static<typeof UpdatePatientBody>;

export const PatientsQuery = Type.Object({
  ...PagingQuery(50, 200),
  search: Type.Optional(Type.String({ maxLength: 100 })),
  gender: Type.Optional(Gender),
  insurance_type: Type.Optional(InsuranceType),
  area: Type.Optional(Type.String({ maxLength: 100 })),
});
export type PatientsQuery = Static<typeof PatientsQuery>;

export const PatientList = Type.Object({ patients: Type.Array(Patient), pagination: Pagination });
