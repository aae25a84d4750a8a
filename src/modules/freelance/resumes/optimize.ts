import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError, notFound } from '../../../core/http/errors.js';
import { RequiredText, Uuid } from '../../../core/http/schemas.js';
import { complete, type ChatMessage } from '../../chat/index.js';
import type { FreelanceTables } from '../tables.js';
import * as repo from './repo.js';
import type { Resume } from './schema.js';

/**
 * `POST /api/resumes/optimize`: tailored suggestions for one of the caller's resumes, from the
 * chat module's LLM through its gateway (`complete()`: response cache, dedup, queue). The model is
 * asked for a JSON object and its answer is checked before anything is returned.
 */

const tags = ['freelance: resumes'];

export const OptimizeBody = Type.Object(
  { resume_id: Uuid, job_description: RequiredText(20_000) },
  { additionalProperties: false },
);

export const Optimization = Type.Object({
  resume_id: Type.String(),
  summary: Type.String(),
  skills: Type.Array(Type.String()),
  experience_suggestions: Type.Array(Type.Object({ index: Type.Integer({ description: '0-based position in the resume experience list' }), suggestion: Type.String() })),
  notes: Type.String(),
});

export interface Suggestions {
  summary: string;
  skills: string[];
  experience_suggestions: { index: number; suggestion: string }[];
  notes: string;
}

const MAX_SKILLS = 50;
const MAX_SKILL_CHARS = 100;
const MAX_TEXT_CHARS = 5000;

export const SYSTEM_PROMPT = [
  'You are an expert resume writer. Tailor the resume to the job description without inventing experience.',
  'Answer with one JSON object only, no prose, with exactly these keys:',
  '"summary": a rewritten professional summary (string);',
  '"skills": the skills to list, most relevant first (array of strings);',
  '"experience_suggestions": an array of {"index": the 0-based position of an entry in the resume\'s "experience" list, "suggestion": how to rewrite or emphasise it};',
  '"notes": anything else the candidate should change or add (string).',
].join('\n');

/** The resume as the model sees it: its content only, no ids or timestamps. */
export function buildPrompt(resume: Resume, jobDescription: string): ChatMessage[] {
  const content = {
    title: resume.title,
    summary: resume.summary,
    experience: resume.experience.map((entry, index) => ({ index, ...entry })),
    education: resume.education,
    skills: resume.skills,
    certifications: resume.certifications,
    languages: resume.languages,
    projects: resume.projects,
  };
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: `Job description:\n${jobDescription}\n\nResume (JSON):\n${JSON.stringify(content)}` },
  ];
}

const unusable = (why: string): AppError => new AppError(502, 'LLM_BAD_RESPONSE', `The language model's answer could not be used: ${why}`);

/** The JSON object in the answer, also when a model wraps it in a Markdown fence or a sentence. */
function extractObject(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start === -1 || end <= start) throw unusable('it is not a JSON object');
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    throw unusable('it is not valid JSON');
  }
}

const cleanText = (value: string, max: number): string => value.trim().slice(0, max);

/**
 * Checks the model's answer: the four keys with the right types (else 502). Blank skills are
 * dropped and repeats removed; suggestions pointing at no experience entry are dropped.
 */
export function parseSuggestions(text: string, experienceCount: number): Suggestions {
  const value = extractObject(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unusable('it is not a JSON object');
  const answer = value as Record<string, unknown>;
  if (typeof answer.summary !== 'string' || answer.summary.trim() === '') throw unusable('"summary" is missing');
  if (!Array.isArray(answer.skills) || !answer.skills.every((skill) => typeof skill === 'string')) throw unusable('"skills" is not a list of strings');
  const rawSuggestions = answer.experience_suggestions ?? [];
  if (!Array.isArray(rawSuggestions)) throw unusable('"experience_suggestions" is not a list');
  if (answer.notes !== undefined && answer.notes !== null && typeof answer.notes !== 'string') throw unusable('"notes" is not a string');

  const seen = new Set<string>();
  const skills: string[] = [];
  for (const skill of answer.skills as string[]) {
    const clean = cleanText(skill, MAX_SKILL_CHARS);
    if (clean === '' || seen.has(clean.toLowerCase())) continue;
    seen.add(clean.toLowerCase());
    skills.push(clean);
    if (skills.length === MAX_SKILLS) break;
  }

  const experience_suggestions: Suggestions['experience_suggestions'] = [];
  for (const entry of rawSuggestions) {
    if (typeof entry !== 'object' || entry === null) throw unusable('an experience suggestion is not an object');
    const { index, suggestion } = entry as { index?: unknown; suggestion?: unknown };
    if (typeof index !== 'number' || !Number.isInteger(index) || typeof suggestion !== 'string') throw unusable('an experience suggestion lacks "index" or "suggestion"');
    if (index < 0 || index >= experienceCount || suggestion.trim() === '') continue;
    experience_suggestions.push({ index, suggestion: cleanText(suggestion, MAX_TEXT_CHARS) });
  }

  return {
    summary: cleanText(answer.summary, MAX_TEXT_CHARS),
    skills,
    experience_suggestions,
    notes: typeof answer.notes === 'string' ? cleanText(answer.notes, MAX_TEXT_CHARS) : '',
  };
}

export default async function resumeOptimizeRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = app.db.withTables<FreelanceTables>();
  // Each call may run the model: CHAT_RATE_LIMIT per minute per user (after the plugin's requireUser).
  const limit = app.createRateLimit({ name: 'resume-optimize', max: app.config.chatRateLimit, timeWindowMs: 60_000, keyGenerator: (request) => request.user.id });

  app.post(
    '/api/resumes/optimize',
    {
      onRequest: limit,
      schema: {
        tags,
        summary: 'LLM-tailored suggestions for a resume against a job description (through the chat gateway)',
        body: OptimizeBody,
        response: { 200: Optimization },
      },
    },
    async (request, reply) => {
      const { resume_id, job_description } = request.body;
      const resume = await repo.findResume(db, request.user.id, resume_id);
      if (!resume) throw notFound('Resume');
      // A caller who leaves stops the generation (unless an identical request shares it).
      const leaving = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) leaving.abort();
      });
      const ask = { messages: buildPrompt(resume, job_description), format: 'json' as const, signal: leaving.signal };
      const answer = await complete(app, ask);
      try {
        return { resume_id, ...parseSuggestions(answer.content, resume.experience.length) };
      } catch (error) {
        if (!answer.cached) throw error;
        // An unusable answer in the cache would fail every retry: ask afresh and replace it.
        const fresh = await complete(app, { ...ask, refresh: true });
        return { resume_id, ...parseSuggestions(fresh.content, resume.experience.length) };
      }
    },
  );
}
