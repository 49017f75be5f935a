import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a server of the test's own with `cleanUp` installed for the test process's exit (a test
 * process that dies without destroying it must not leave a server or its directory behind). A
 * start that fails cleans up at once and throws. Returns the hook, to be removed by `destroy()`.
 */
export async function startGuarded(start: () => Promise<void>, cleanUp: () => void): Promise<() => void> {
  process.once('exit', cleanUp);
  try {
    await start();
  } catch (e) {
    cleanUp();
    process.off('exit', cleanUp);
    throw e;
  }
  return cleanUp;
}
