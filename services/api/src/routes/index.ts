import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { auditRoutes } from './audit.routes.ts';
import { checkRoutes } from './check.routes.ts';
import { contactRoutes } from './contacts.routes.ts';
import { exportRoutes } from './export.routes.ts';
import { findingRoutes } from './findings.routes.ts';
import { healthRoutes } from './health.routes.ts';
import { meRoutes } from './me.routes.ts';
import { needsRoutes } from './needs.routes.ts';
import { officerRoutes } from './officers.routes.ts';
import { publicationRoutes } from './publications.routes.ts';
import { regionRoutes } from './regions.routes.ts';
import { runRoutes } from './runs.routes.ts';
import { sourceRoutes } from './sources.routes.ts';

/**
 * Every route module of `/api/v1`, registered in this order. To add routes, write a
 * `<name>.routes.ts` exporting a `FastifyPluginAsyncZod` and add one line here.
 */
export const routeModules: FastifyPluginAsyncZod[] = [
  healthRoutes,
  meRoutes,
  regionRoutes,
  needsRoutes,
  officerRoutes,
  publicationRoutes,
  exportRoutes,
  runRoutes,
  findingRoutes,
  sourceRoutes,
  checkRoutes,
  auditRoutes,
  contactRoutes,
];
