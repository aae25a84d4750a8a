import type { InvoiceWithClient } from './schema.js';

/** The invoice as a one-page A4 PDF (longer item lists flow onto further pages). */

export interface Issuer {
  name: string | null;
  email: string;
}

const MARGIN = 50;
const PAGE_WIDTH = 595.28; // A4 in points
const CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN;
const COLUMNS = { description: MARGIN, quantity: 330, rate: 390, amount: 470 };
const NUMERIC_WIDTH = { quantity: 55, rate: 75, amount: PAGE_WIDTH - MARGIN - 470 };

// Made on first use: the first Intl formatter loads ICU's locale data, ~7 MB of RSS a server that
// never renders a PDF would carry from start-up.
let amountFormat: Intl.NumberFormat | undefined;
const formatAmount = (amount: number): string =>
  (amountFormat ??= new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })).format(amount);
export const formatMoney = (amount: number, currency: string): string => `${currency} ${formatAmount(amount)}`;

export async function renderInvoicePdf(invoice: InvoiceWithClient, issuer: Issuer): Promise<Buffer> {
  // pdfkit (with its fonts) measured ~0.7 s and ~27 MB at import: load it when a PDF is first asked for.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: { Title: `Invoice ${invoice.invoice_number}`, Author: issuer.name ?? issuer.email, Subject: `Invoice ${invoice.invoice_number}` },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const money = (amount: number) => formatMoney(amount, invoice.currency);

  // Header: who bills, and the invoice's identity.
  doc.font('Helvetica-Bold').fontSize(24).text('INVOICE', MARGIN, MARGIN);
  doc.font('Helvetica').fontSize(10).text(issuer.name ?? '', MARGIN, 82).text(issuer.email);
  const meta: Array<[string, string]> = [
    ['Invoice number', invoice.invoice_number],
    ['Date', invoice.date],
    ['Due date', invoice.due_date],
    ['Status', invoice.status.toUpperCase()],
  ];
  let y = MARGIN;
  for (const [label, value] of meta) {
    doc.font('Helvetica').fontSize(9).fillColor('#555555').text(label, 330, y, { width: 90 });
    doc.font('Helvetica-Bold').fontSize(10).fillColor('#000000').text(value, 420, y, { width: PAGE_WIDTH - MARGIN - 420, align: 'right' });
    y += 16;
  }

  // Bill to.
  y = 140;
  doc.font('Helvetica-Bold').fontSize(10).text('Bill to', MARGIN, y);
  doc.font('Helvetica').fontSize(10);
  const client = invoice.client;
  const clientLines = [client?.name ?? invoice.client_name ?? '', client?.company, client?.email, client?.phone, client?.address].filter(
    (line): line is string => typeof line === 'string' && line.length > 0,
  );
  doc.text(clientLines.join('\n'), MARGIN, y + 14, { width: 260 });
  y = Math.max(doc.y, y + 14) + 24;

  // Items table.
  doc.font('Helvetica-Bold').fontSize(9);
  doc.text('Description', COLUMNS.description, y, { width: COLUMNS.quantity - MARGIN - 10 });
  doc.text('Qty', COLUMNS.quantity, y, { width: NUMERIC_WIDTH.quantity, align: 'right' });
  doc.text('Rate', COLUMNS.rate, y, { width: NUMERIC_WIDTH.rate, align: 'right' });
  doc.text('Amount', COLUMNS.amount, y, { width: NUMERIC_WIDTH.amount, align: 'right' });
  y += 14;
  doc.moveTo(MARGIN, y).lineTo(PAGE_WIDTH - MARGIN, y).strokeColor('#999999').stroke();
  y += 6;
  doc.font('Helvetica').fontSize(9);
  for (const item of invoice.items) {
    const descriptionWidth = COLUMNS.quantity - MARGIN - 10;
    const height = Math.max(doc.heightOfString(item.description, { width: descriptionWidth }), 11);
    if (y + height > doc.page.height - MARGIN - 120) {
      doc.addPage();
      y = MARGIN;
    }
    doc.text(item.description, COLUMNS.description, y, { width: descriptionWidth });
    doc.text(String(item.quantity), COLUMNS.quantity, y, { width: NUMERIC_WIDTH.quantity, align: 'right' });
    doc.text(formatAmount(item.rate), COLUMNS.rate, y, { width: NUMERIC_WIDTH.rate, align: 'right' });
    doc.text(formatAmount(item.amount), COLUMNS.amount, y, { width: NUMERIC_WIDTH.amount, align: 'right' });
    y += height + 6;
  }
  doc.moveTo(MARGIN, y).lineTo(PAGE_WIDTH - MARGIN, y).strokeColor('#999999').stroke();
  y += 10;

  // Totals.
  const totals: Array<[string, string, boolean]> = [
    ['Subtotal', money(invoice.subtotal), false],
    ['Tax', money(invoice.tax), false],
    ['Discount', `- ${money(invoice.discount)}`, false],
    ['Total', money(invoice.total), true],
  ];
  for (const [label, value, strong] of totals) {
    doc.font(strong ? 'Helvetica-Bold' : 'Helvetica').fontSize(strong ? 12 : 10);
    doc.text(label, 330, y, { width: 100 });
    doc.text(value, 400, y, { width: PAGE_WIDTH - MARGIN - 400, align: 'right' });
    y += strong ? 20 : 15;
  }

  // Notes and payment terms.
  y += 15;
  for (const [label, text] of [
    ['Notes', invoice.notes],
    ['Payment terms', invoice.payment_terms],
  ] as const) {
    if (!text) continue;
    doc.font('Helvetica-Bold').fontSize(10).text(label, MARGIN, y, { width: CONTENT_WIDTH });
    doc.font('Helvetica').fontSize(9).text(text, MARGIN, doc.y + 2, { width: CONTENT_WIDTH });
    y = doc.y + 12;
  }

  doc.end();
  return done;
}
