import type { BenchClient, BenchUser, Scenario } from '../scenario.js';

/** Investigations: the board read a client makes on opening an investigation. */

const ENTITIES = 500;
const LINKS = 1000;
const PARALLEL = 16;
const TYPES = ['person', 'location', 'evidence', 'event'] as const;
const TAGS = ['suspect', 'witness', 'vehicle', 'cctv', 'urgent'];

/** Runs the tasks with at most PARALLEL in flight: setup through the API without taking minutes. */
async function inParallel<T>(count: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

/** 1,000 distinct pairs over 500 entities: each to the next, each to the one after, and three more. */
function linkPairs(): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let step = 1; pairs.length < LINKS; step++) {
    for (let i = 0; i + step < ENTITIES && pairs.length < LINKS; i++) pairs.push([i, i + step]);
  }
  return pairs;
}

async function board(client: BenchClient): Promise<{ user: BenchUser; id: string }> {
  const user = await client.newUser();
  const { id } = await client.request<{ id: string }>('POST', '/api/investigations', { title: 'Bench board', description: 'Load test' }, user.headers);
  const entityIds = await inParallel(ENTITIES, async (i) => {
    const created = await client.request<{ id: string }>(
      'POST',
      `/api/investigations/${id}/entities`,
      {
        entity_type: TYPES[i % TYPES.length],
        title: `Entity ${i}`,
        description: `Description of entity ${i}, long enough to look like a real note on the board.`,
        location: i % 4 === 1 ? `Place ${i}` : undefined,
        event_date: i % 4 === 3 ? '2024-03-01T20:00:00Z' : undefined,
        tags: [TAGS[i % TAGS.length]!, TAGS[(i + 2) % TAGS.length]!],
      },
      user.headers,
    );
    if (i % 10 === 0) await client.request('POST', `/api/investigations/${id}/entities/${created.id}/comments`, { content: 'Checked.' }, user.headers);
    return created.id;
  });
  const pairs = linkPairs();
  await inParallel(pairs.length, async (i) => {
    const [from, to] = pairs[i]!;
    await client.request('POST', `/api/investigations/${id}/links`, { from_entity_id: entityIds[from], to_entity_id: entityIds[to], title: 'related' }, user.headers);
  });
  return { user, id };
}

export const scenarios: Scenario[] = [
  {
    name: 'investigations.entities-list',
    description: `GET /api/investigations/:id/entities: ${ENTITIES} entities (2 tags each, comment counts) on a board with ${LINKS} links`,
    async setup(client) {
      const { user, id } = await board(client);
      return { method: 'GET', path: `/api/investigations/${id}/entities`, headers: user.headers };
    },
  },
];
