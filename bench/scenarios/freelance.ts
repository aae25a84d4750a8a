import type { BenchClient, Scenario } from '../scenario.js';

/** Freelance scenarios: a key lookup, a 50-row list with a join and JSON items, and a numbered insert. */

const dueIn30Days = () => new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

const items = [
  { description: 'Design', quantity: 3, rate: 33.33 },
  { description: 'Development', quantity: 12.5, rate: 95 },
  { description: 'Hosting (monthly)', quantity: 1, rate: 19.99 },
];

async function userWithClient(client: BenchClient) {
  const user = await client.newUser();
  const created = await client.request<{ id: string }>(
    'POST',
    '/api/clients',
    { name: 'Acme Ltd', email: 'billing@acme.example', company: 'Acme', address: '1 Main Street' },
    user.headers,
  );
  return { user, clientId: created.id };
}

export const scenarios: Scenario[] = [
  {
    name: 'freelance.client-get',
    description: 'GET /api/clients/:id: auth + one owned-row lookup',
    async setup(client) {
      const { user, clientId } = await userWithClient(client);
      return { method: 'GET', path: `/api/clients/${clientId}`, headers: user.headers };
    },
  },
  {
    name: 'freelance.invoices-list',
    description: 'GET /api/invoices with 50 invoices (3 items each, client name joined)',
    async setup(client) {
      const { user, clientId } = await userWithClient(client);
      for (let index = 0; index < 50; index++) {
        await client.request('POST', '/api/invoices', { client_id: clientId, due_date: dueIn30Days(), items, tax: 10 }, user.headers);
      }
      return { method: 'GET', path: '/api/invoices', headers: user.headers };
    },
  },
  {
    name: 'freelance.invoice-create',
    description: 'POST /api/invoices: totals in cents, next INV number in the insert transaction',
    async setup(client) {
      const { user, clientId } = await userWithClient(client);
      return { method: 'POST', path: '/api/invoices', headers: user.headers, body: { client_id: clientId, due_date: dueIn30Days(), items, tax: 10, discount: 5 } };
    },
  },
];
