import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  addContact,
  ContactValidationError,
  getContact,
  listContacts,
  listOutbox,
  removeContact,
  rotateContactSecret,
  setContactEnabled,
  writeAudit,
  type AlertContact,
} from '@pksync/db';
import { actorOf, provinceScope } from '../auth.ts';
import { badRequest, ErrorBody, forbidden, notFound } from '../errors.ts';
import { IdKey, PageQuery, pageOf, readPage } from '../paging.ts';
import { iso, isoReq, ProvinceCode, Reason } from '../schemas.ts';

/**
 * R15 alert contacts: e-mail addresses and signed webhooks per province, and the
 * ministry's admin contacts. Admins manage them; a province key may read its own province's.
 * Secrets are write-only (a generated one is returned once, on creation).
 */

const Contact = z
  .object({
    id: z.string(),
    province_code: z.string().nullable().describe('null for a ministry (admin) contact'),
    admin: z.boolean().describe('a ministry contact: receives escalations (30 days) and delivery failures'),
    kind: z.enum(['email', 'webhook']),
    address: z.string().describe('e-mail address or webhook URL'),
    name: z.string().nullable(),
    enabled: z.boolean(),
    has_secret: z.boolean(),
    created_by: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'AlertContact' });

const CreatedContact = Contact.extend({
  secret: z
    .string()
    .nullable()
    .describe('the generated webhook signing secret, returned only here and only when none was given'),
}).meta({ id: 'AlertContactCreated' });

const Delivery = z
  .object({
    id: z.number().int(),
    kind: z.enum(['digest', 'escalation', 'delivery_failed']),
    run_id: z.string().nullable(),
    audience: z.enum(['province', 'ministry']),
    province_code: z.string().nullable(),
    contact_id: z.string().nullable(),
    channel: z.enum(['email', 'webhook']),
    status: z.enum(['pending', 'sent', 'dead', 'cancelled']),
    attempts: z.number().int(),
    next_attempt_at: z.string(),
    last_error: z.string().nullable(),
    sent_at: z.string().nullable(),
    created_at: z.string(),
    findings: z.number().int(),
  })
  .meta({ id: 'AlertDelivery' });

export function contactJson(c: AlertContact) {
  return {
    id: c.id,
    province_code: c.provinceCode,
    admin: c.isAdmin,
    kind: c.kind,
    address: c.address,
    name: c.name,
    enabled: c.enabled,
    has_secret: c.hasSecret,
    created_by: c.createdBy,
    created_at: isoReq(c.createdAt),
    updated_at: isoReq(c.updatedAt),
  };
}

const ContactId = z.object({ id: z.uuid() });

/** `GET/POST /contacts`, `PATCH/DELETE /contacts/{id}`, `GET /contacts/deliveries`. */
export const contactRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/contacts',
    {
      config: { access: 'key' },
      schema: {
        tags: ['contacts'],
        summary: 'Alert contacts (admin: all; a province key: its own province); secrets are never returned',
        security: [{ apiKey: [] }],
        querystring: z.object({
          province: ProvinceCode.optional(),
          admin: z
            .enum(['true', 'false'])
            .optional()
            .describe('only ministry (true) or only province (false) contacts'),
        }),
        response: { 200: z.object({ data: z.array(Contact) }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req) => {
      const own = provinceScope(req);
      if (own !== undefined && (req.query.province ?? own) !== own) throw forbidden();
      if (own !== undefined && req.query.admin === 'true') throw forbidden();
      const rows = await listContacts(app.ctx.db, {
        provinceCode: own ?? req.query.province,
        admin: own !== undefined ? false : req.query.admin === undefined ? undefined : req.query.admin === 'true',
      });
      return { data: rows.map(contactJson) };
    },
  );

  app.post(
    '/contacts',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['contacts'],
        summary: 'Add an alert contact (admin): an e-mail address or a webhook URL for a province or the ministry',
        security: [{ apiKey: [] }],
        body: z
          .object({
            province_code: ProvinceCode.nullable().optional(),
            admin: z.boolean().optional().describe('a ministry contact (no province)'),
            kind: z.enum(['email', 'webhook']),
            address: z.string().trim().min(3).max(500),
            name: z.string().trim().max(200).nullable().optional(),
            secret: z
              .string()
              .min(16)
              .max(256)
              .optional()
              .describe('webhook signing secret; generated (and returned once) when omitted'),
            reason: Reason.optional(),
          })
          .strict(),
        response: { 201: CreatedContact, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const generated = b.kind === 'webhook' && !b.secret ? randomBytes(24).toString('base64url') : null;
      const { actor, actorRole } = actorOf(req);
      let contact: AlertContact;
      try {
        contact = await addContact(
          app.ctx.db,
          {
            provinceCode: b.province_code ?? null,
            admin: b.admin === true,
            kind: b.kind,
            address: b.address,
            name: b.name ?? null,
            secret: b.secret ?? generated,
            createdBy: actor,
          },
          app.ctx.tokenKey,
        );
      } catch (e) {
        if (e instanceof ContactValidationError) {
          const field = e.field === 'province' ? 'body.province_code' : `body.${e.field}`;
          throw badRequest(field, e.message);
        }
        throw e;
      }
      await writeAudit(app.ctx.db, {
        actor,
        actorRole,
        action: 'contact.add',
        target: `contact:${contact.id}`,
        provinceCode: contact.provinceCode,
        reason: b.reason ?? null,
        details: { kind: contact.kind, address: contact.address, admin: contact.isAdmin },
      });
      return reply.code(201).send({ ...contactJson(contact), secret: generated });
    },
  );

  app.patch(
    '/contacts/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['contacts'],
        summary: 'Enable or disable an alert contact (admin)',
        security: [{ apiKey: [] }],
        params: ContactId,
        body: z.object({ enabled: z.boolean(), reason: Reason.optional() }).strict(),
        response: { 200: Contact, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const { db } = app.ctx;
      if (!(await setContactEnabled(db, req.params.id, req.body.enabled))) throw notFound('Kontak');
      const contact = (await getContact(db, req.params.id))!;
      const { actor, actorRole } = actorOf(req);
      await writeAudit(db, {
        actor,
        actorRole,
        action: req.body.enabled ? 'contact.enable' : 'contact.disable',
        target: `contact:${contact.id}`,
        provinceCode: contact.provinceCode,
        reason: req.body.reason ?? null,
        details: { kind: contact.kind, address: contact.address },
      });
      return contactJson(contact);
    },
  );

  app.delete(
    '/contacts/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['contacts'],
        summary: 'Remove an alert contact (admin); its pending deliveries are cancelled',
        security: [{ apiKey: [] }],
        params: ContactId,
        response: { 204: z.null(), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { db } = app.ctx;
      const contact = await getContact(db, req.params.id);
      if (!contact || !(await removeContact(db, contact.id))) throw notFound('Kontak');
      const { actor, actorRole } = actorOf(req);
      await writeAudit(db, {
        actor,
        actorRole,
        action: 'contact.remove',
        target: `contact:${contact.id}`,
        provinceCode: contact.provinceCode,
        reason: null,
        details: { kind: contact.kind, address: contact.address },
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/contacts/:id/secret',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['contacts'],
        summary: 'Replace a webhook signing secret (admin); a generated one is returned once',
        security: [{ apiKey: [] }],
        params: ContactId,
        body: z
          .object({ secret: z.string().min(16).max(256).optional(), reason: Reason.optional() })
          .strict()
          .optional()
          .default({}),
        response: {
          200: z.object({ id: z.string(), secret: z.string().nullable() }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const { db } = app.ctx;
      const generated = req.body?.secret ? null : randomBytes(24).toString('base64url');
      let ok: boolean;
      try {
        ok = await rotateContactSecret(db, req.params.id, req.body?.secret ?? generated!, app.ctx.tokenKey);
      } catch (e) {
        if (e instanceof ContactValidationError) throw badRequest(`body.${e.field}`, e.message);
        throw e;
      }
      if (!ok) throw notFound('Kontak webhook');
      const contact = (await getContact(db, req.params.id))!;
      const { actor, actorRole } = actorOf(req);
      await writeAudit(db, {
        actor,
        actorRole,
        action: 'contact.rotate_secret',
        target: `contact:${contact.id}`,
        provinceCode: contact.provinceCode,
        reason: req.body?.reason ?? null,
        details: { address: contact.address },
      });
      return { id: contact.id, secret: generated };
    },
  );

  app.get(
    '/contacts/deliveries',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['contacts'],
        summary:
          'Alert deliveries from the outbox, newest first, paged by cursor (admin): status, attempts, last error',
        security: [{ apiKey: [] }],
        querystring: PageQuery.extend({
          run: z.uuid().optional(),
          province: ProvinceCode.optional(),
          status: z.enum(['pending', 'sent', 'dead', 'cancelled']).optional(),
        }),
        response: { 200: pageOf(Delivery), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query;
      const filter = { runId: q.run, provinceCode: q.province, status: q.status };
      const { rows, next_cursor } = await readPage(
        app.cursors,
        q,
        { list: 'contacts.deliveries', filters: filter },
        IdKey,
        (after, take) => listOutbox(app.ctx.db, { ...filter, limit: take, afterId: after?.id }),
        (r) => ({ id: r.id }),
      );
      return {
        data: rows.map((r) => ({
          id: r.id,
          kind: r.kind,
          run_id: r.runId,
          audience: r.audience,
          province_code: r.provinceCode,
          contact_id: r.contactId,
          channel: r.channel,
          status: r.status,
          attempts: r.attempts,
          next_attempt_at: isoReq(r.nextAttemptAt),
          last_error: r.lastError,
          sent_at: iso(r.sentAt),
          created_at: isoReq(r.createdAt),
          findings: r.findings,
        })),
        next_cursor,
      };
    },
  );
};
