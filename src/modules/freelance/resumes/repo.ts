import type { Selectable } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { findOwnedRow, type FreelanceDb } from '../common.js';
import type { FreelanceResumesTable } from '../tables.js';
import type { CreateResumeBody, Resume, UpdateResumeBody } from './schema.js';

type ResumeRow = Selectable<FreelanceResumesTable>;

/** The JSON sections of a resume row. */
const SECTIONS = ['personal_info', 'experience', 'education', 'skills', 'certifications', 'languages', 'projects'] as const;

export function toResume(row: ResumeRow): Resume {
  return {
    id: row.id,
    _id: row.id,
    user_id: row.user_id,
    title: row.title,
    template: row.template as Resume['template'],
    personal_info: JSON.parse(row.personal_info) as Resume['personal_info'],
    summary: row.summary,
    experience: JSON.parse(row.experience) as Resume['experience'],
    education: JSON.parse(row.education) as Resume['education'],
    skills: JSON.parse(row.skills) as string[],
    certifications: JSON.parse(row.certifications) as string[],
    languages: JSON.parse(row.languages) as Resume['languages'],
    projects: JSON.parse(row.projects) as Resume['projects'],
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The sections present in a body, as JSON text columns. */
function sectionColumns(body: UpdateResumeBody): Partial<Pick<ResumeRow, (typeof SECTIONS)[number]>> {
  const columns: Partial<Record<(typeof SECTIONS)[number], string>> = {};
  for (const section of SECTIONS) {
    if (body[section] !== undefined) columns[section] = JSON.stringify(body[section]);
  }
  return columns;
}

export async function listResumes(db: FreelanceDb, userId: string, paging: { limit: number; offset: number }): Promise<Resume[]> {
  const rows = await db
    .selectFrom('freelance_resumes')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(paging.limit)
    .offset(paging.offset)
    .execute();
  return rows.map(toResume);
}

export async function findResume(db: FreelanceDb, userId: string, id: string): Promise<Resume | null> {
  const row = await findOwnedRow.freelance_resumes(db, userId, id);
  return row ? toResume(row) : null;
}

export async function insertResume(db: FreelanceDb, userId: string, body: CreateResumeBody): Promise<Resume> {
  const at = now();
  const row = await db
    .insertInto('freelance_resumes')
    .values({
      id: newId(),
      user_id: userId,
      title: body.title,
      template: body.template ?? 'modern',
      personal_info: '{}',
      summary: body.summary ?? null,
      experience: '[]',
      education: '[]',
      skills: '[]',
      certifications: '[]',
      languages: '[]',
      projects: '[]',
      ...sectionColumns(body),
      created_at: at,
      updated_at: at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toResume(row);
}

export async function updateResume(db: FreelanceDb, userId: string, id: string, body: UpdateResumeBody): Promise<Resume | null> {
  const row = await db
    .updateTable('freelance_resumes')
    .set({ title: body.title, template: body.template, summary: body.summary, ...sectionColumns(body), updated_at: now() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst();
  return row ? toResume(row) : null;
}

export async function deleteResume(db: FreelanceDb, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('freelance_resumes').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
