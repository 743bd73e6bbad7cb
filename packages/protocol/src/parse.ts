/** Parsing at the edge: anything from outside goes through a schema, failures become 191004. */
import * as v from 'valibot';
import { invalidParameter } from './errors.js';

/** Parses `input` with `schema`, or throws a ConvSyncError 191004 naming the first problems. */
export function parseOrThrow<TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
  what: string,
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issues = result.issues.slice(0, 5).map((issue) => ({
    path: v.getDotPath(issue) ?? '',
    message: issue.message,
  }));
  const first = issues[0];
  throw invalidParameter(
    `invalid ${what}${first === undefined ? '' : `: ${first.path === '' ? '' : `${first.path}: `}${first.message}`}`,
    { issues },
  );
}
