import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the web console's static root (`index.html`, `app.css`, `js/`), with a
 * trailing slash. The console has no build step: the API service serves this folder as it is,
 * at `/`, next to the API at `/api/v1`.
 *
 * @example
 * import fastifyStatic from '@fastify/static';
 * import { webRoot } from '@pksync/web';
 * await app.register(fastifyStatic, { root: webRoot, prefix: '/' });
 */
export const webRoot: string = fileURLToPath(new URL('../public/', import.meta.url));
