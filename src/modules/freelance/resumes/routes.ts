import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { notFound } from '../../../core/http/errors.js';
import { IdParams, MessageBody } from '../../../core/http/schemas.js';
import type { FreelanceTables } from '../tables.js';
import { scoreResume } from './ats.js';
import * as repo from './repo.js';
import { AtsBody, AtsResult, CreateResumeBody, Resume, type RESUME_TEMPLATES, ResumeListQuery, ResumeTemplate, TITLE_MAX, UpdateResumeBody } from './schema.js';

const tags = ['freelance: resumes'];

const TEMPLATES: Array<{ id: (typeof RESUME_TEMPLATES)[number]; name: string; description: string }> = [
  { id: 'modern', name: 'Modern', description: 'Clean single column with a coloured header; suits most roles.' },
  { id: 'professional', name: 'Professional', description: 'Conservative serif layout for finance, law and management.' },
  { id: 'creative', name: 'Creative', description: 'Two columns with a sidebar for skills; for design and media.' },
  { id: 'minimal', name: 'Minimal', description: 'Plain text-first layout that every applicant tracking system parses.' },
  { id: 'tech', name: 'Tech', description: 'Skills and projects first, with links to GitHub and portfolio.' },
];

/**
 * Resume routes. `POST /api/resumes/optimize` (LLM-tailored suggestions through the chat gateway)
 * is not defined here: it lives in ./optimize.ts, written with the chat module, and is registered
 * from this plugin at the seam below. It is a static route, so it never collides with `/:id`.
 */
export async function resumeRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<FreelanceTables>();
  app.addRouteGuard(app.requireUser);

  app.get(
    '/api/resumes',
    { schema: { tags, summary: 'Your resumes, most recently changed first (limit default 100, max 500)', querystring: ResumeListQuery, response: { 200: Type.Array(Resume) } } },
    async (request) => repo.listResumes(db, request.user.id, request.query),
  );

  app.get('/api/resumes/templates', { schema: { tags, summary: 'The resume layouts', response: { 200: Type.Array(ResumeTemplate) } } }, async () => TEMPLATES);

  app.post('/api/resumes', { schema: { tags, summary: 'Create a resume', body: CreateResumeBody, response: { 201: Resume } } }, async (request, reply) => {
    return reply.code(201).send(await repo.insertResume(db, request.user.id, request.body));
  });

  app.get('/api/resumes/:id', { schema: { tags, summary: 'One resume', params: IdParams, response: { 200: Resume } } }, async (request) => {
    const resume = await repo.findResume(db, request.user.id, request.params.id);
    if (!resume) throw notFound('Resume');
    return resume;
  });

  app.put(
    '/api/resumes/:id',
    { schema: { tags, summary: 'Change a resume; each section sent replaces the stored one', params: IdParams, body: UpdateResumeBody, response: { 200: Resume } } },
    async (request) => {
      const resume = await repo.updateResume(db, request.user.id, request.params.id, request.body);
      if (!resume) throw notFound('Resume');
      return resume;
    },
  );

  app.delete('/api/resumes/:id', { schema: { tags, summary: 'Delete a resume', params: IdParams, response: { 200: MessageBody } } }, async (request) => {
    if (!(await repo.deleteResume(db, request.user.id, request.params.id))) throw notFound('Resume');
    return { message: 'Resume deleted' };
  });

  app.post(
    '/api/resumes/:id/duplicate',
    { schema: { tags, summary: 'Copy a resume, titled "<title> (Copy)"', params: IdParams, response: { 201: Resume } } },
    async (request, reply) => {
      const resume = await repo.findResume(db, request.user.id, request.params.id);
      if (!resume) throw notFound('Resume');
      const { id: _id, _id: _alias, user_id: _user, created_at: _created, updated_at: _updated, ...content } = resume;
      const title = `${resume.title.slice(0, TITLE_MAX - ' (Copy)'.length)} (Copy)`;
      return reply.code(201).send(await repo.insertResume(db, request.user.id, { ...content, title }));
    },
  );

  app.post(
    '/api/resumes/:id/ats-score',
    {
      schema: {
        tags,
        summary: 'Deterministic keyword analysis of a resume against a job description (no LLM)',
        params: IdParams,
        body: AtsBody,
        response: { 200: AtsResult },
      },
    },
    async (request) => {
      const resume = await repo.findResume(db, request.user.id, request.params.id);
      if (!resume) throw notFound('Resume');
      return scoreResume(resume, request.body.job_description);
    },
  );

  // Seam for the chat module's helper: `POST /api/resumes/optimize` is registered here from
  // ./optimize.ts (e.g. `await app.register(resumeOptimizeRoutes)`); it may use ./repo.ts findResume.
  await app.register(import('./optimize.js'));
}
