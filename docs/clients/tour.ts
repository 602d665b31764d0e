// The README tour against the generated SDK, typed end to end (type-checked with tsc --strict).
import { createClient } from "./faktura-ts/client";
import {
  tenantsCreate, contactsCreate, invoicesCreate, invoicesIssue, invoicesXml, invoicesPdf,
  invoicesSend, invoicesStatus, invoicesRetrieve,
} from "./faktura-ts/sdk.gen";
import type { TenantInput, ContactInput, InvoiceInput, ErrorEnvelope } from "./faktura-ts/types.gen";

export async function tour(key: string, tenant: TenantInput, contact: ContactInput, invoice: InvoiceInput) {
  const platform = createClient({ baseUrl: "http://127.0.0.1:8000", auth: () => key });
  const created = await tenantsCreate({ client: platform, body: { model: tenant } });
  if (!created.data) throw new Error("tenant");
  const token: string | undefined = created.data.model.account_token;
  const client = createClient({ baseUrl: "http://127.0.0.1:8000", auth: () => key, headers: { "X-Account-Token": token ?? "" } });
  const c = await contactsCreate({ client, body: { model: contact } });
  const contactId: string = c.data!.model.id;
  const draft = await invoicesCreate({ client, body: { model: { ...invoice, contact: contactId } } });
  const id: string = draft.data!.model.id;
  const total: string | null | undefined = draft.data!.model.total_amount;
  const issued = await invoicesIssue({ client, path: { invoice_id: id } });
  const status: "DRAFT" | "OPEN" | "SUBMITTED" | "PARTIALLY_PAID" | "PAID" | "VOID" = issued.data!.model.status;
  const number: string | null = issued.data!.model.number;
  const xml = await invoicesXml({ client, path: { invoice_id: id }, parseAs: "blob" });
  const pdf = await invoicesPdf({ client, path: { invoice_id: id }, parseAs: "blob" });
  const sent = await invoicesSend({ client, path: { invoice_id: id }, body: { model: { channel: "peppol" } } });
  const deliveryId: string = sent.data!.model.id;
  const poll = await invoicesStatus({ client, path: { invoice_id: id } });
  const deliveryStatus: string | undefined = poll.data?.deliveries[0]?.status;
  const missing = await invoicesRetrieve({ client, path: { invoice_id: "00000000-0000-0000-0000-000000000000" } });
  const err: ErrorEnvelope | undefined = missing.error;
  const pointer: string | undefined = err?.errors[0]?.source.pointer;
  return { total, status, number, xml, pdf, deliveryId, deliveryStatus, pointer };
}
