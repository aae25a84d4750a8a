import { Type, type Static } from 'typebox';
import { DateOnly, RequiredText, Uuid } from '../../../core/http/schemas.js';
import { ListPaging, MoneyInput, MoneyOutput, Optional, OptionalText, OrNull, OwnedFields } from '../common.js';

export const PROJECT_STATUSES = ['active', 'completed', 'onhold', 'cancelled'] as const;
export const ProjectStatus = Type.Enum(PROJECT_STATUSES);

export const Project = Type.Object({
  ...OwnedFields,
  name: Type.String(),
  client_id: OrNull(Uuid),
  description: OrNull(Type.String()),
  status: ProjectStatus,
  hourly_rate: OrNull(MoneyOutput),
  budget: OrNull(MoneyOutput),
  start_date: OrNull(DateOnly),
  end_date: OrNull(DateOnly),
  deadline: OrNull(DateOnly),
});
export type Project = Static<typeof Project>;

const projectFields = {
  client_id: Optional(Uuid),
  description: OptionalText(10_000),
  status: Type.Optional(ProjectStatus),
  hourly_rate: Optional(MoneyInput),
  budget: Optional(MoneyInput),
  start_date: Optional(DateOnly),
  end_date: Optional(DateOnly),
  deadline: Optional(DateOnly),
};

export const CreateProjectBody = Type.Object({ name: RequiredText(200), ...projectFields }, { additionalProperties: false });
export type CreateProjectBody = Static<typeof CreateProjectBody>;

export const UpdateProjectBody = Type.Object({ name: Type.Optional(RequiredText(200)), ...projectFields }, { additionalProperties: false });
export type UpdateProjectBody = Static<typeof UpdateProjectBody>;

export const ProjectListQuery = Type.Object({
  status: Type.Optional(ProjectStatus),
  client_id: Type.Optional(Uuid),
  ...ListPaging,
});
export type ProjectListQuery = Static<typeof ProjectListQuery>;
