/**
 * A deterministic ATS (applicant tracking system) check: the job description's most frequent
 * meaningful terms, how many of them the resume contains, and whether the sections screeners look
 * for are present. No LLM, no randomness: the same input always gives the same answer.
 */

export interface AtsResume {
  personal_info: { email?: string | null; phone?: string | null };
  summary: string | null;
  experience: Array<{ company: string; position: string; location?: string | null; description?: string | null; achievements?: string[] }>;
  education: Array<{ institution: string; degree?: string | null; field?: string | null }>;
  skills: string[];
  certifications: string[];
  languages: Array<{ name: string }>;
  projects: Array<{ name: string; description?: string | null }>;
}

export interface AtsResult {
  score: number;
  max_score: 100;
  matched_keywords: string[];
  missing_keywords: string[];
  feedback: string[];
}

/** How many terms of the job description are checked. */
export const MAX_KEYWORDS = 20;
const KEYWORD_POINTS = 70;
const MIN_SKILLS = 5;

const STOPWORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does doing down during each ' +
    'e.g either etc few for from further had has have having he her here hers him his how i i.e if in into is it its itself just like may me might more most must my no nor not now of ' +
    'off on once only or other our ours out over own per same shall she should so some such than that the their theirs them then there these they this those through to too ' +
    'under until up upon us very via was we well were what when where which while who whom why will with within without would yet you your yours ' +
    // words every job advert uses, which say nothing about the job
    'ability able apply candidate candidates company day days description ensure excellent experience experienced good great help ideal including join job ' +
    'knowledge looking new offer opportunity plus position preferred proven required requirements responsibilities responsible role seeking skills strong ' +
    'successful team understanding using want work working year years'
  ).split(' '),
);

/** Lower-cased terms: letters and digits, keeping the marks of names such as c++, c# and node.js. */
export function tokenize(text: string): string[] {
  const tokens = text.toLowerCase().match(/[a-z0-9][a-z0-9+#.]*[a-z0-9+#]|[a-z0-9]/g) ?? [];
  return tokens.filter((token) => token.length >= 2 && !/^\d+$/.test(token) && !STOPWORDS.has(token));
}

/** The job's key terms: most frequent first, ties in order of first appearance. */
export function extractKeywords(jobDescription: string, max = MAX_KEYWORDS): string[] {
  const counts = new Map<string, { count: number; first: number }>();
  tokenize(jobDescription).forEach((token, position) => {
    const seen = counts.get(token);
    if (seen) seen.count++;
    else counts.set(token, { count: 1, first: position });
  });
  return [...counts.entries()]
    .sort(([, a], [, b]) => b.count - a.count || a.first - b.first)
    .slice(0, max)
    .map(([token]) => token);
}

function resumeText(resume: AtsResume): string {
  return [
    resume.summary ?? '',
    ...resume.skills,
    ...resume.certifications,
    ...resume.experience.flatMap((job) => [job.position, job.company, job.description ?? '', ...(job.achievements ?? [])]),
    ...resume.education.flatMap((school) => [school.degree ?? '', school.field ?? '', school.institution]),
    ...resume.projects.flatMap((project) => [project.name, project.description ?? '']),
    ...resume.languages.map((language) => language.name),
  ].join('\n');
}

/** A keyword is present if the resume has it, or it with or without a plural "s". */
function contains(terms: Set<string>, keyword: string): boolean {
  return terms.has(keyword) || terms.has(`${keyword}s`) || (keyword.endsWith('s') && terms.has(keyword.slice(0, -1)));
}

export function scoreResume(resume: AtsResume, jobDescription: string): AtsResult {
  const keywords = extractKeywords(jobDescription);
  const terms = new Set(tokenize(resumeText(resume)));
  const matched = keywords.filter((keyword) => contains(terms, keyword));
  const missing = keywords.filter((keyword) => !contains(terms, keyword));
  const feedback: string[] = [];

  // 70 points for keywords, 30 for the sections screeners expect.
  let points = keywords.length > 0 ? (KEYWORD_POINTS * matched.length) / keywords.length : 0;
  const sections: Array<[boolean, number, string]> = [
    [Boolean(resume.personal_info.email || resume.personal_info.phone), 5, 'Add contact details (email or phone) so a recruiter can reach you.'],
    [Boolean(resume.summary?.trim()), 5, 'Add a professional summary that names the role and your strongest matching skills.'],
    [resume.experience.length > 0, 10, 'Add your work experience: screeners rank candidates mostly on it.'],
    [resume.education.length > 0, 5, 'Add your education.'],
    [resume.skills.length >= MIN_SKILLS, 5, `List at least ${MIN_SKILLS} skills in the skills section.`],
  ];
  for (const [present, sectionPoints, advice] of sections) {
    if (present) points += sectionPoints;
    else feedback.push(advice);
  }
  if (resume.experience.length > 0 && resume.experience.every((job) => !job.achievements?.length)) {
    feedback.push('Add measurable achievements to your experience (numbers, outcomes).');
  }

  if (keywords.length === 0) {
    feedback.unshift('The job description has no recognisable keywords to match against.');
  } else if (missing.length === 0) {
    feedback.unshift(`Your resume contains all ${keywords.length} key terms of the job description.`);
  } else {
    const share = matched.length / keywords.length;
    const verdict = share >= 0.75 ? 'Strong match' : share >= 0.5 ? 'Fair match' : 'Weak match';
    feedback.unshift(
      `${verdict}: ${matched.length} of ${keywords.length} key terms found. Where they are true for you, work in: ${missing.slice(0, 10).join(', ')}.`,
    );
  }

  return { score: Math.max(0, Math.min(100, Math.round(points))), max_score: 100, matched_keywords: matched, missing_keywords: missing, feedback };
}
