import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Load graphql as Node does under `node dist/...` (its CommonJS entry). Vite would otherwise give
    // the sources graphql's ESM build while dependencies get the CommonJS one: two GraphQLError classes,
    // so `instanceof GraphQLError` failed in the hub's error masking and tests saw behaviour that
    // production does not have (request errors masked as internal errors).
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/setup.ts"],
    // One file at a time: each starts a whole hub, and this machine has two cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
