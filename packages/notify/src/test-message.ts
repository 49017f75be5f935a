import { decryptContactSecret, getContactForDelivery } from '@pksync/db';
import type { NotifyDeps } from './deliver.ts';
import { escapeHtml } from './mask.ts';
import { findingsUrl } from './render.ts';
import { createSmtpMailer, postWebhook } from './transports.ts';

/**
 * Sends a one-off test message to a contact right now (not through the outbox), so an admin can
 * check an address or a webhook receiver and its signature check. Throws what went wrong.
 */
export async function sendTestMessage(
  deps: NotifyDeps,
  contactId: string,
): Promise<{ kind: 'email' | 'webhook'; address: string }> {
  const contact = await getContactForDelivery(deps.db, contactId);
  if (!contact) throw new Error(`no contact ${contactId}`);
  const now = (deps.now ?? (() => new Date()))();
  const key = `test:${contact.id}:${now.getTime()}`;
  const audience = contact.is_admin ? 'Kementerian' : `Provinsi ${contact.province_code}`;
  const link = contact.is_admin
    ? findingsUrl(deps.config.publicBaseUrl, { status: 'open' })
    : findingsUrl(deps.config.publicBaseUrl, { province: contact.province_code, status: 'open' });
  if (contact.kind === 'email') {
    const mailer = deps.mailer ?? (deps.config.smtpUrl ? createSmtpMailer(deps.config.smtpUrl) : undefined);
    if (!mailer) throw new Error('SMTP_URL is not set: e-mail cannot be sent');
    const text = `Ini pesan uji dari pksync untuk ${audience}. Alamat ini akan menerima ringkasan temuan mutu data setelah setiap sinkronisasi.\nTemuan terbuka: ${link}\n`;
    try {
      await mailer.send({
        to: contact.address,
        from: deps.config.alertFrom,
        subject: '[pksync] Uji pemberitahuan',
        text,
        html: `<p>${escapeHtml(text.split('\n')[0])}</p><p><a href="${escapeHtml(link)}">Temuan terbuka</a></p>`,
        messageId: `<${key.replace(/[^A-Za-z0-9.:-]/g, '-')}@pksync>`,
        idempotencyKey: key,
      });
    } finally {
      if (!deps.mailer) mailer.close();
    }
  } else {
    if (!contact.secret_encrypted) throw new Error('this webhook has no secret');
    const secret = decryptContactSecret(contact.secret_encrypted, deps.config.tokenKey, contact.id);
    const body = JSON.stringify({
      event: 'pksync.test',
      idempotency_key: key,
      audience: contact.is_admin ? 'ministry' : 'province',
      province_code: contact.province_code,
      generated_at: now.toISOString(),
      findings_url: link,
      message: `Ini pesan uji dari pksync untuk ${audience}.`,
    });
    await postWebhook({ url: contact.address, body, secret, idempotencyKey: key, event: 'pksync.test' }, deps.fetch);
  }
  return { kind: contact.kind, address: contact.address };
}
