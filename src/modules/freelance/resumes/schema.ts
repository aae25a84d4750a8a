import { Type, type Static } from 'typebox';
import { Nullable, RequiredText } from '../../../core/http/schemas.js';
import { EmailOrEmpty, ListPaging, OptionalText, OrNull, OwnedFields } from '../common.js';

export const RESUME_TEMPLATES = ['modern', 'professional', 'creative', 'minimal', 'tech'] as const;
export const ResumeTemplateName = Type.Enum(RESUME_TEMPLATES);
export const TITLE_MAX = 200;

/** Free text such as "2021-03", "March 2021" or "Present": resumes are not strict about dates. */
const LooseDate = OptionalText(50);
const Url = Type.Optional(Nullable(Type.String({ maxLength: 500 })));

/**
 * Sections are stored as sent (only the fields below are accepted), so a resume reads back exactly
 * as it was written on both databases. The same schemas describe the response.
 */
export const PersonalInfo = Type.Object(
  {
    full_name: OptionalText(200),
    email: Type.Optional(Nullable(EmailOrEmpty)),
    phone: OptionalText(50),
    location: OptionalText(200),
    website: Url,
    linkedin: Url,
    github: Url,
  },
  { additionalProperties: false },
);

export const Experience = Type.Object(
  {
    company: RequiredText(200),
    position: RequiredText(200),
    location: OptionalText(200),
    start_date: LooseDate,
    end_date: LooseDate,
    description: OptionalText(5000),
    achievements: Type.Optional(Type.Array(RequiredText(1000), { maxItems: 30 })),
  },
  { additionalProperties: false },
);

export const Education = Type.Object(
  {
    institution: RequiredText(200),
    degree: OptionalText(200),
    field: OptionalText(200),
    start_date: LooseDate,
    end_date: LooseDate,
    gpa: Type.Optional(Nullable(Type.Union([Type.Number({ minimum: 0, maximum: 100 }), Type.String({ maxLength: 20 })]))),
  },
  { additionalProperties: false },
);

export const Language = Type.Object({ name: RequiredText(100), proficiency: OptionalText(50) }, { additionalProperties: false });

export const ResumeProject = Type.Object({ name: RequiredText(200), description: OptionalText(5000), url: Url }, { additionalProperties: false });

const sections = {
  personal_info: PersonalInfo,
  summary: OrNull(Type.String()),
  experience: Type.Array(Experience),
  education: Type.Array(Education),
  skills: Type.Array(Type.String()),
  certifications: Type.Array(Type.String()),
  languages: Type.Array(Language),
  projects: Type.Array(ResumeProject),
};

export const Resume = Type.Object({ ...OwnedFields, title: Type.String(), template: ResumeTemplateName, ...sections });
export type Resume = Static<typeof Resume>;

const sectionInputs = {
  template: Type.Optional(ResumeTemplateName),
  personal_info: Type.Optional(PersonalInfo),
  summary: OptionalText(5000),
  experience: Type.Optional(Type.Array(Experience, { maxItems: 50 })),
  education: Type.Optional(Type.Array(Education, { maxItems: 20 })),
  skills: Type.Optional(Type.Array(RequiredText(100), { maxItems: 200 })),
  certifications: Type.Optional(Type.Array(RequiredText(300), { maxItems: 50 })),
  languages: Type.Optional(Type.Array(Language, { maxItems: 30 })),
  projects: Type.Optional(Type.Array(ResumeProject, { maxItems: 50 })),
};

export const CreateResumeBody = Type.Object({ title: RequiredText(TITLE_MAX), ...sectionInputs }, { additionalProperties: false });
export type CreateResumeBody = Static<typeof CreateResumeBody>;

export const UpdateResumeBody = Type.Object({ title: Type.Optional(RequiredText(TITLE_MAX)), ...sectionInputs }, { additionalProperties: false });
export type UpdateResumeBody = Static<typeof UpdateResumeBody>;

export const ResumeListQuery = Type.Object({ ...ListPaging });

export const ResumeTemplate = Type.Object({ id: ResumeTemplateName, name: Type.String(), description: Type.String() });

export const AtsBody = Type.Object({ job_description: RequiredText(20_000) }, { additionalProperties: false });

export const AtsResult = Type.Object({
  score: Type.Integer({ minimum: 0, maximum: 100 }),
  max_score: Type.Integer(),
  matched_keywords: Type.Array(Type.String()),
  missing_keywords: Type.Array(Type.String()),
  feedback: Type.Array(Type.String()),
});
