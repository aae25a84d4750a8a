import type { Selectable } from 'kysely';
import { newId, now } from '../../../core/db/columns.js';
import { findOwnedRow, type FreelanceDb } from '../common.js';
import { optionalFromCents } from '../../../core/http/schemas.js';
import { optionalCents } from '../money.js';
import type { FreelanceProjectsTable } from '../tables.js';
import type { CreateProjectBody, Project, ProjectListQuery, UpdateProjectBody } from './schema.js';

function toProject(row: Selectable<FreelanceProjectsTable>): Project {
  const { status, hourly_rate, budget, ...stored } = row;
  return { _id: row.id, status: status as Project['status'], hourly_rate: optionalFromCents(hourly_rate), budget: optionalFromCents(budget), ...stored };
}

export async function listProjects(db: FreelanceDb, userId: string, query: ProjectListQuery): Promise<Project[]> {
  let select = db.selectFrom('freelance_projects').selectAll().where('user_id', '=', userId);
  if (query.status) select = select.where('status', '=', query.status);
  if (query.client_id) select = select.where('client_id', '=', query.client_id);
  const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).offset(query.offset).execute();
  return rows.map(toProject);
}

export async function findProject(db: FreelanceDb, userId: string, id: string): Promise<Project | null> {
  const row = await findOwnedRow.freelance_projects(db, userId, id);
  return row ? toProject(row) : null;
}

/** The money fields of a body, in cents (400 for more than 2 decimals). */
function moneyColumns(body: Pick<UpdateProjectBody, 'hourly_rate' | 'budget'>) {
  return { hourly_rate: optionalCents(body.hourly_rate, 'hourly_rate'), budget: optionalCents(body.budget, 'budget') };
}

export async function insertProject(db: FreelanceDb, userId: string, body: CreateProjectBody): Promise<Project> {
  const at = now();
  const money = moneyColumns(body);
  const row = await db
    .insertInto('freelance_projects')
    .values({
      id: newId(),
      user_id: userId,
      client_id: body.client_id ?? null,
      name: body.name,
      description: body.description ?? null,
      status: body.status ?? 'active',
      hourly_rate: money.hourly_rate ?? null,
      budget: money.budget ?? null,
      start_date: body.start_date ?? null,
      end_date: body.end_date ?? null,
      deadline: body.deadline ?? null,
      created_at: at,
      updated_at: at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toProject(row);
}

export async function updateProject(db: FreelanceDb, userId: string, id: string, body: UpdateProjectBody): Promise<Project | null> {
  const row = await db
    .updateTable('freelance_projects')
    .set({ ...body, ...moneyColumns(body), updated_at: now() })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst();
  return row ? toProject(row) : null;
}

/** Deletes the project; its time entries keep their rows with `project_id` cleared (FK). */
export async function deleteProject(db: FreelanceDb, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('freelance_projects').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
