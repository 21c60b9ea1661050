// Types of the generated validators (scripts/gen-validators.mjs): ajv's standalone functions.
import type { ErrorObject } from 'ajv';

export interface StandaloneValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}
export const validateConfig: StandaloneValidator;
export const validateJob: StandaloneValidator;
