/** Where the README explains the sandbox and what each driver needs. */
export const SANDBOX_DOCS = 'README.md#sandbox';
