// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";

// ARCHITECTURE.md §2: imports point one way.
// core ← store, blobs, packages, sandbox ← runtimes ← invoker ← async, triggers ← auth, api ← main
const layer = (target, ...forbidden) => ({
  target: `./src/${target}`,
  from: forbidden.map((f) => `./src/${f}`),
  message: `src/${target} may not import from this layer (see docs/ARCHITECTURE.md §2)`,
});
const above = {
  core: [
    "store",
    "blobs",
    "packages",
    "sandbox",
    "runtimes",
    "invoker",
    "async",
    "triggers",
    "auth",
    "api",
    "cli",
    "main.ts",
  ],
  leaf: ["runtimes", "invoker", "async", "triggers", "auth", "api", "cli", "main.ts"],
  runtimes: ["invoker", "async", "triggers", "auth", "api", "cli", "main.ts"],
  invoker: ["async", "triggers", "auth", "api", "cli", "main.ts"],
  mid: ["auth", "api", "cli", "main.ts"],
  edge: ["cli", "main.ts"],
};
const zones = [
  layer("core", ...above.core),
  layer("store", ...above.leaf, "blobs", "packages", "sandbox"),
  layer("blobs", ...above.leaf, "store", "packages", "sandbox"),
  layer("packages", ...above.leaf, "store", "blobs", "sandbox"),
  layer("sandbox", ...above.leaf, "store", "blobs", "packages"),
  layer("runtimes", ...above.runtimes),
  layer("invoker", ...above.invoker),
  layer("async", ...above.mid, "triggers"),
  layer("triggers", ...above.mid, "async"),
  layer("auth", ...above.edge, "api"),
  layer("api", ...above.edge),
  layer(
    "cli",
    "store",
    "blobs",
    "packages",
    "sandbox",
    "runtimes",
    "invoker",
    "async",
    "triggers",
    "auth",
    "api",
    "main.ts",
  ),
];

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "data/**",
      "bench/.peers/**",
      "bench/results/**",
      ".tmp/**",
      "src/runtimes/python/**/*.py",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "scripts/*.mjs", "bin/*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { "import-x": importX },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "eslint-comments/require-description": "off",
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { zones }],
      "no-console": "error",
      // Async interfaces (Store, route handlers) are often met by sync code; awaiting nothing is fine.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Function code (fixtures, examples, shims) runs inside the sandbox as plain CommonJS/Python.
    files: ["src/runtimes/*/shim/**", "test/fixtures/**", "examples/**"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        exports: "writable",
        __dirname: "readonly",
        console: "readonly",
        process: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setImmediate: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        queueMicrotask: "readonly",
        URL: "readonly",
        performance: "readonly",
        AbortController: "readonly",
        TextDecoder: "readonly",
        TextEncoder: "readonly",
        structuredClone: "readonly",
        global: "readonly",
      },
    },
    rules: {
      "no-console": "off",
      "@typescript-eslint/no-unused-vars": "off",
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  {
    files: ["src/cli/**", "bench/**", "scripts/**", "bin/**"],
    rules: { "no-console": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: null },
      globals: { console: "readonly", process: "readonly", Buffer: "readonly", URL: "readonly" },
    },
  },
);
