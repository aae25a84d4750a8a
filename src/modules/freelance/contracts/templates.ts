/** Starter texts for `GET /api/contracts/templates`; placeholders are in [BRACKETS]. */

export interface ContractTemplate {
  id: string;
  name: string;
  type: 'freelance' | 'employment' | 'partnership' | 'service' | 'rental' | 'consulting';
  content: string;
}

export const CONTRACT_TEMPLATES: ContractTemplate[] = [
  {
    id: 'freelance-services',
    name: 'Freelance services agreement',
    type: 'freelance',
    content: `FREELANCE SERVICES AGREEMENT

This agreement is made on [DATE] between [CLIENT NAME] ("Client") and [YOUR NAME] ("Freelancer").

1. Services. The Freelancer will provide the following services: [DESCRIPTION OF SERVICES].
2. Deliverables. The Freelancer will deliver the items listed in this contract by the dates agreed.
3. Fees. The Client will pay [AMOUNT] [CURRENCY] [per hour / as a fixed fee]. Invoices are due within [14] days.
4. Expenses. Expenses are reimbursed only when approved in writing beforehand.
5. Intellectual property. On full payment, the rights in the deliverables pass to the Client.
6. Confidentiality. Each party keeps the other's confidential information secret.
7. Independent contractor. The Freelancer is not an employee of the Client.
8. Termination. Either party may end this agreement with [14] days' written notice; work done until then is paid.

Signed: ____________________ (Client)    ____________________ (Freelancer)`,
  },
  {
    id: 'consulting',
    name: 'Consulting agreement',
    type: 'consulting',
    content: `CONSULTING AGREEMENT

Between [CLIENT NAME] ("Client") and [CONSULTANT NAME] ("Consultant"), effective [START DATE].

1. Scope. The Consultant will advise the Client on [SUBJECT].
2. Term. From [START DATE] to [END DATE], unless ended earlier under clause 6.
3. Fees. [RATE] [CURRENCY] per [hour/day], invoiced monthly, payable within [30] days.
4. Availability. The Consultant will be available for up to [HOURS] hours per [week/month].
5. Confidentiality. Information shared under this agreement stays confidential during and after its term.
6. Termination. Either party may terminate with [30] days' written notice.

Signed: ____________________ (Client)    ____________________ (Consultant)`,
  },
  {
    id: 'service-level',
    name: 'Service agreement',
    type: 'service',
    content: `SERVICE AGREEMENT

Between [PROVIDER NAME] ("Provider") and [CLIENT NAME] ("Client").

1. Services. The Provider will perform [SERVICES] to a professional standard.
2. Service levels. [RESPONSE TIMES / AVAILABILITY TARGETS].
3. Price. [AMOUNT] [CURRENCY] per [PERIOD], invoiced in advance.
4. Liability. Each party's liability is limited to the fees paid in the preceding [12] months.
5. Term and renewal. [TERM], renewing automatically unless either party gives [30] days' notice.

Signed: ____________________ (Provider)    ____________________ (Client)`,
  },
  {
    id: 'partnership',
    name: 'Partnership agreement',
    type: 'partnership',
    content: `PARTNERSHIP AGREEMENT

Between [PARTNER 1] and [PARTNER 2] (the "Partners").

1. Purpose. The Partners will work together on [PROJECT OR BUSINESS].
2. Contributions. [WHAT EACH PARTNER CONTRIBUTES].
3. Profit and loss. Shared [50/50 or other split].
4. Decisions. Decisions above [AMOUNT] need the agreement of both Partners.
5. Exit. A Partner may leave with [60] days' notice; the remaining Partner may buy their share at fair value.

Signed: ____________________    ____________________`,
  },
  {
    id: 'employment',
    name: 'Employment contract',
    type: 'employment',
    content: `EMPLOYMENT CONTRACT

Between [EMPLOYER NAME] ("Employer") and [EMPLOYEE NAME] ("Employee").

1. Position. The Employee is employed as [JOB TITLE] from [START DATE].
2. Duties. [MAIN DUTIES].
3. Salary. [AMOUNT] [CURRENCY] per [year/month], paid [monthly].
4. Hours. [HOURS] hours per week.
5. Leave. [DAYS] days of paid leave per year.
6. Notice. [NOTICE PERIOD] by either party.

Signed: ____________________ (Employer)    ____________________ (Employee)`,
  },
  {
    id: 'rental',
    name: 'Equipment rental agreement',
    type: 'rental',
    content: `RENTAL AGREEMENT

Between [OWNER NAME] ("Owner") and [RENTER NAME] ("Renter").

1. Item. [DESCRIPTION OF EQUIPMENT OR PROPERTY].
2. Period. From [START DATE] to [END DATE].
3. Rent. [AMOUNT] [CURRENCY] per [PERIOD], payable in advance. Deposit: [DEPOSIT].
4. Care. The Renter returns the item in the condition received, normal wear excepted.

Signed: ____________________ (Owner)    ____________________ (Renter)`,
  },
];
