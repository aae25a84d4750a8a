import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import { assertOwnReference, referencesStillExist } from '../common.js';
import type { FreelanceTables } from '../tables.js';
import * as repo from './repo.js';
import { CreateProjectBody, Project, ProjectListQuery, UpdateProjectBody } from './schema.js';

const tags = ['freelance: projects'];

export async function projectRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<FreelanceTables>();
  app.addRouteGuard(app.requireUser);

  app.get(
    '/api/projects',
    { schema: { tags, summary: 'Your projects, newest first (limit default 100, max 500)', querystring: ProjectListQuery, response: { 200: Type.Array(Project) } } },
    async (request) => repo.listProjects(db, request.user.id, request.query),
  );

  app.post('/api/projects', { schema: { tags, summary: 'Add a project', body: CreateProjectBody, response: { 201: Project } } }, async (request, reply) => {
    await assertOwnReference(db, 'freelance_clients', request.user.id, request.body.client_id, 'client_id');
    return reply.code(201).send(await referencesStillExist(repo.insertProject(db, request.user.id, request.body)));
  });

  app.get('/api/projects/:id', { schema: { tags, summary: 'One project', params: IdParams, response: { 200: Project } } }, async (request) => {
    const project = await repo.findProject(db, request.user.id, request.params.id);
    if (!project) throw notFound('Project');
    return project;
  });

  app.put(
    '/api/projects/:id',
    { schema: { tags, summary: 'Change some fields of a project', params: IdParams, body: UpdateProjectBody, response: { 200: Project } } },
    async (request) => {
      const userId = request.user.id;
      if (!(await repo.findProject(db, userId, request.params.id))) throw notFound('Project');
      await assertOwnReference(db, 'freelance_clients', userId, request.body.client_id, 'client_id');
      const project = await referencesStillExist(repo.updateProject(db, userId, request.params.id, request.body));
      if (!project) throw notFound('Project');
      return project;
    },
  );

  app.delete(
    '/api/projects/:id',
    { schema: { tags, summary: 'Delete a project; its time entries lose the link', params: IdParams, response: { 200: MessageBody } } },
    async (request) => {
      if (!(await repo.deleteProject(db, request.user.id, request.params.id))) throw notFound('Project');
      return { message: 'Project deleted' };
    },
  );
}
