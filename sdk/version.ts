/** The package version, shown in every error's "Version:" line (test/sdk/errors.test.ts keeps it equal to package.json). */
export const version = "0.1.0";
