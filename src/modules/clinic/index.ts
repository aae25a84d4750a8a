import type { FastifyInstance } from 'fastify';
import type { AppModule } from '../../core/module.js';
import { auditRoutes } from './audit/routes.js';
import { billingRoutes } from './billing/routes.js';
import { claimRoutes } from './claims/routes.js';
import { clinicMigrations } from './migrations.js';
import { patientRoutes } from './patients/routes.js';
import { reportRoutes } from './reports/routes.js';
import { staffRoutes } from './staff/routes.js';
import { visitRoutes } from './visits/routes.js';

async function clinicPlugin(app: FastifyInstance): Promise<void> {
  await app.register(staffRoutes);
  await app.register(patientRoutes);
  await app.register(visitRoutes);
  await app.register(billingRoutes);
  await app.register(claimRoutes);
  await app.register(reportRoutes);
  await app.register(auditRoutes);
}

export const clinicModule: AppModule = { name: 'clinic', migrations: clinicMigrations, plugin: clinicPlugin };
