import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The test layout (README § Tests): unit tests beside the source, integration tests in the
    // package's or service's test/, tests across services in the root test/.
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'services/*/src/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
