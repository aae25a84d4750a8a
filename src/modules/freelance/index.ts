import type { FastifyInstance } from 'fastify';
import type { AppModule } from '../../core/module.js';
import { clientRoutes } from './clients/routes.js';
import { contractRoutes } from './contracts/routes.js';
import { invoiceRoutes } from './invoices/routes.js';
import { freelanceMigrations } from './migrations.js';
import { projectRoutes } from './projects/routes.js';
import { resumeRoutes } from './resumes/routes.js';
import { timeTrackingRoutes } from './time-tracking/routes.js';

/** The "Orbix" back office: clients, projects, time tracking, invoices with PDF, contracts, resumes. */
export const freelanceModule: AppModule = {
  name: 'freelance',
  migrations: freelanceMigrations,
  async plugin(app: FastifyInstance) {
    await app.register(clientRoutes);
    await app.register(projectRoutes);
    await app.register(timeTrackingRoutes);
    await app.register(invoiceRoutes);
    await app.register(contractRoutes);
    await app.register(resumeRoutes);
  },
};
