/**
 * Bad input at a boundary (a flag, a file, an IPC/HTTP argument). `field` names what was wrong so the message can
 * say it; the CLI maps this error to exit code 2.
 */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InputError';
  }
}
