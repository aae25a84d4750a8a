import { v5 as uuidv5 } from 'uuid';
import { newId } from '../../../core/db/columns.js';

/** Identifier and code systems of the Kenyan SHA exchange (see docs/modules/clinic.md, FHIR mapping). */
export const FHIR_SYSTEMS = {
  icd11: 'http://id.who.int/icd/release/11/mms',
  shaIntervention: 'https://sha.go.ke/fhir/CodeSystem/intervention-codes',
  shaMemberNumber: 'https://sha.go.ke/fhir/identifier/member-number',
  facilityCode: 'https://sha.go.ke/fhir/identifier/facility-code',
  claimNumber: 'https://sha.go.ke/fhir/identifier/claim-number',
  opNumber: 'urn:facility:op-number',
  nationalId: 'https://www.ecitizen.go.ke/national-id',
  messageEvents: 'https://sha.go.ke/fhir/CodeSystem/message-events',
  claimType: 'http://terminology.hl7.org/CodeSystem/claim-type',
  processPriority: 'http://terminology.hl7.org/CodeSystem/processpriority',
  diagnosisType: 'http://terminology.hl7.org/CodeSystem/ex-diagnosistype',
  coverageType: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
} as const;

const CURRENCY = 'KES';
/** Fixed namespace for the facility's Organization id: the same facility code gives the same id. */
const FACILITY_NAMESPACE = '0b7c8c3e-6f39-4f3c-9a57-5d1c0d9e2a41';

export interface FhirClaimInput {
  facility: { name: string; code: string };
  claim: {
    id: string;
    claim_number: string;
    status: string;
    created_at: string;
    claim_amount: number;
    diagnoses: Array<{ code: string; description: string }>;
    items: Array<{ intervention_code: string; description: string; quantity: number; unit_price: number; amount: number }>;
  };
  patient: {
    id: string;
    op_number: string;
    first_name: string;
    last_name: string;
    gender: string;
    date_of_birth: string | null;
    phone_number: string | null;
    national_id: string | null;
    insurance_number: string | null;
  };
  /** The period of care billed: the visit's day(s), else the day the claim was drafted. */
  billablePeriod: { start: string; end: string };
}

const money = (value: number) => ({ value, currency: CURRENCY });
const urn = (id: string) => `urn:uuid:${id}`;

/** FHIR Claim.status: our workflow states map onto the resource's life cycle. */
function fhirClaimStatus(status: string): 'draft' | 'active' | 'cancelled' {
  if (status === 'draft') return 'draft';
  return 'active';
}

/**
 * The claim as a FHIR R4 message Bundle for SHA: MessageHeader first (a message bundle must start
 * with it), then the Organization (this facility), the Patient (with the SHA member number), the SHA
 * Coverage and the Claim (ICD-11 diagnoses, items coded with SHA intervention codes). Amounts are in
 * KES (money values arrive here already as decimals).
 */
export function claimBundle(input: FhirClaimInput, timestamp = new Date().toISOString()) {
  const { claim, patient, facility } = input;
  const organizationId = uuidv5(facility.code, FACILITY_NAMESPACE);
  const coverageId = uuidv5(`${patient.id}:sha`, FACILITY_NAMESPACE);
  const headerId = newId();

  const messageHeader = {
    resourceType: 'MessageHeader',
    id: headerId,
    eventCoding: { system: FHIR_SYSTEMS.messageEvents, code: 'claim-submission', display: 'Claim submission' },
    source: { name: facility.name, endpoint: `urn:facility:${facility.code}` },
    sender: { reference: urn(organizationId), display: facility.name },
    destination: [{ name: 'Social Health Authority', endpoint: 'https://sha.go.ke/fhir' }],
    focus: [{ reference: urn(claim.id) }],
  };

  const organization = {
    resourceType: 'Organization',
    id: organizationId,
    identifier: [{ system: FHIR_SYSTEMS.facilityCode, value: facility.code }],
    active: true,
    type: [{ coding: [{ system: FHIR_SYSTEMS.organizationType, code: 'prov', display: 'Healthcare Provider' }] }],
    name: facility.name,
  };

  const identifiers: Array<{ use?: string; system: string; value: string; type?: unknown }> = [];
  if (patient.insurance_number) identifiers.push({ use: 'official', system: FHIR_SYSTEMS.shaMemberNumber, value: patient.insurance_number });
  identifiers.push({ use: 'usual', system: FHIR_SYSTEMS.opNumber, value: patient.op_number });
  if (patient.national_id) identifiers.push({ use: 'secondary', system: FHIR_SYSTEMS.nationalId, value: patient.national_id });
  const fhirPatient = {
    resourceType: 'Patient',
    id: patient.id,
    identifier: identifiers,
    name: [{ use: 'official', family: patient.last_name, given: [patient.first_name], text: `${patient.first_name} ${patient.last_name}` }],
    gender: patient.gender === 'male' || patient.gender === 'female' ? patient.gender : 'other',
    ...(patient.date_of_birth ? { birthDate: patient.date_of_birth } : {}),
    ...(patient.phone_number ? { telecom: [{ system: 'phone', value: patient.phone_number, use: 'mobile' }] } : {}),
  };

  const coverage = {
    resourceType: 'Coverage',
    id: coverageId,
    status: 'active',
    type: { coding: [{ system: FHIR_SYSTEMS.coverageType, code: 'PUBLICPOL', display: 'public healthcare' }], text: 'SHA' },
    ...(patient.insurance_number
      ? { identifier: [{ system: FHIR_SYSTEMS.shaMemberNumber, value: patient.insurance_number }], subscriberId: patient.insurance_number }
      : {}),
    beneficiary: { reference: urn(patient.id) },
    relationship: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }] },
    payor: [{ display: 'Social Health Authority (SHA)' }],
    class: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] }, value: 'SHA', name: 'Social Health Insurance Fund' }],
  };

  const fhirClaim = {
    resourceType: 'Claim',
    id: claim.id,
    identifier: [{ system: FHIR_SYSTEMS.claimNumber, value: claim.claim_number }],
    status: fhirClaimStatus(claim.status),
    type: { coding: [{ system: FHIR_SYSTEMS.claimType, code: 'professional', display: 'Professional' }] },
    use: 'claim',
    patient: { reference: urn(patient.id) },
    billablePeriod: input.billablePeriod,
    created: claim.created_at,
    insurer: { display: 'Social Health Authority (SHA)' },
    provider: { reference: urn(organizationId) },
    priority: { coding: [{ system: FHIR_SYSTEMS.processPriority, code: 'normal' }] },
    diagnosis: claim.diagnoses.map((diagnosis, index) => ({
      sequence: index + 1,
      diagnosisCodeableConcept: { coding: [{ system: FHIR_SYSTEMS.icd11, code: diagnosis.code, display: diagnosis.description }], text: diagnosis.description },
      type: [{ coding: [{ system: FHIR_SYSTEMS.diagnosisType, code: index === 0 ? 'principal' : 'clinical' }] }],
    })),
    insurance: [{ sequence: 1, focal: true, coverage: { reference: urn(coverageId) } }],
    item: claim.items.map((item, index) => ({
      sequence: index + 1,
      diagnosisSequence: claim.diagnoses.length > 0 ? [1] : undefined,
      productOrService: { coding: [{ system: FHIR_SYSTEMS.shaIntervention, code: item.intervention_code, display: item.description }], text: item.description },
      quantity: { value: item.quantity },
      unitPrice: money(item.unit_price),
      net: money(item.amount),
    })),
    total: money(claim.claim_amount),
  };

  const entry = (resource: { id: string }) => ({ fullUrl: urn(resource.id), resource });
  return {
    resourceType: 'Bundle' as const,
    id: newId(),
    meta: { lastUpdated: timestamp },
    identifier: { system: FHIR_SYSTEMS.claimNumber, value: claim.claim_number },
    type: 'message' as const,
    timestamp,
    entry: [entry(messageHeader), entry(organization), entry(fhirPatient), entry(coverage), entry(fhirClaim)],
  };
}
