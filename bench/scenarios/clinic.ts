import { migrationGroupsFor } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/core/db/connect.js';
import { migrate } from '../../src/core/db/migrator.js';
import { seedClinic } from '../../src/modules/clinic/seed.js';
import { availableModules } from '../../src/modules/registry.js';
import type { BenchClient, LoadTarget, Scenario, ScenarioFile } from '../scenario.js';

/**
 * Clinic scenarios on 100,000 seeded patients (seeded straight into the database before the server
 * starts). The caller is the bench admin: a global admin acts as clinic admin.
 */

const PATIENTS = Number(process.env.BENCH_CLINIC_PATIENTS ?? 100_000);
const SEED = 2026;
const VISIT_BODIES = Math.min(60_000, PATIENTS - 2000);

interface PatientPage {
  patients: Array<{ id: string; first_name: string; last_name: string; phone_number: string | null; op_number: string }>;
  pagination: { total: number };
}

async function adminSearch(client: BenchClient, query: string): Promise<LoadTarget> {
  const admin = await client.admin();
  const path = `/api/patients?${query}`;
  const page = await client.request<PatientPage>('GET', path, undefined, admin.headers);
  if (page.pagination.total === 0) throw new Error(`the seeded data has no match for ${path}`);
  return { method: 'GET', path, headers: admin.headers };
}

export const beforeStart: ScenarioFile['beforeStart'] = async ({ dataDir, databaseUrl }) => {
  const config = loadConfig({ ...process.env, DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), JWT_SECRET: 'bench-seed-only-never-signs-anything-0123456789' });
  const database = await openDatabase(config);
  try {
    await migrate(database, migrationGroupsFor(availableModules));
    const started = Date.now();
    const summary = await seedClinic(database, { patients: PATIENTS, seed: SEED, vatRate: config.vatRate });
    console.log(`  clinic: seeded ${summary.patients} patients, ${summary.visits} visits in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await database.close();
  }
  return {};
};

export const scenarios: Scenario[] = [
  {
    name: 'clinic.patient-search',
    description: `GET /api/patients?search=<phone number>&limit=20 on ${PATIENTS.toLocaleString('en')} patients, with total (the front desk finding a returning patient)`,
    async setup(client) {
      const admin = await client.admin();
      const page = await client.request<PatientPage>('GET', '/api/patients?limit=1&offset=500', undefined, admin.headers);
      const phone = page.patients[0]?.phone_number;
      if (!phone) throw new Error('the seeded patient has no phone number');
      return adminSearch(client, `search=${encodeURIComponent(phone)}&limit=20`);
    },
  },
  {
    name: 'clinic.patient-search-name',
    description: `GET /api/patients?search=wanjiru%20otieno&limit=20: first name + surname, both common (about 1,100 and 1,900 word matches intersected) on ${PATIENTS.toLocaleString('en')} patients`,
    setup: (client) => adminSearch(client, 'search=wanjiru%20otieno&limit=20'),
  },
  {
    name: 'clinic.patient-search-common',
    description: `GET /api/patients?search=wanjiru&limit=20: a common first name, about 1% of ${PATIENTS.toLocaleString('en')} patients match (count included)`,
    setup: (client) => adminSearch(client, 'search=wanjiru&limit=20'),
  },
  {
    name: 'clinic.patient-get',
    description: 'GET /api/patients/:id: patient, last 5 visits, and the read appended to the audit hash chain in one transaction',
    async setup(client) {
      const admin = await client.admin();
      const page = await client.request<PatientPage>('GET', '/api/patients?limit=1&offset=1000', undefined, admin.headers);
      return { method: 'GET', path: `/api/patients/${page.patients[0]!.id}`, headers: admin.headers };
    },
  },
  {
    name: 'clinic.visit-create',
    description:
      'POST /api/visits, a different patient each request (open-visit check, visit number, audit entry in one transaction); 45,000 patients for the measured run, a repeat answers 409',
    async setup(client) {
      const admin = await client.admin();
      const bodies: Array<{ patient_id: string; chief_complaint: string }> = [];
      // A quarter goes to the warm-up; past the other three quarters wrk starts again from the first
      // body, and a second visit the same day is a 409 (counted as non-2xx).
      for (let offset = 2000; bodies.length < VISIT_BODIES; offset += 200) {
        const page = await client.request<PatientPage>('GET', `/api/patients?limit=200&offset=${offset}`, undefined, admin.headers);
        if (page.patients.length === 0) break;
        for (const patient of page.patients) bodies.push({ patient_id: patient.id, chief_complaint: 'Fever and headache' });
      }
      return { method: 'POST', path: '/api/visits', headers: admin.headers, bodies } satisfies LoadTarget;
    },
  },
  {
    name: 'clinic.visit-vitals',
    description: 'PUT /api/visits/:id with vitals: validated, merged, and audited in one transaction (repeatable write)',
    async setup(client) {
      const admin = await client.admin();
      const page = await client.request<PatientPage>('GET', '/api/patients?limit=1&offset=1500', undefined, admin.headers);
      const visit = await client.request<{ id: string }>('POST', '/api/visits', { patient_id: page.patients[0]!.id, chief_complaint: 'Cough' }, admin.headers);
      return { method: 'PUT', path: `/api/visits/${visit.id}`, headers: admin.headers, body: { vitals: { temperature_c: 37.8, pulse: 88, bp_systolic: 124, bp_diastolic: 82, spo2: 97 } } };
    },
  },
];
