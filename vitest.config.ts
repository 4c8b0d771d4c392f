import { configDefaults, defineConfig } from 'vitest/config';

// Compiled copies of the tests (`tsc -p .` writes dist/tests) must not run beside the sources.
export default defineConfig({
  test: { exclude: [...configDefaults.exclude, 'dist/**', 'bench/.work/**'] },
});
