/** Appends a value to a positional parameter list and returns its placeholder (`$3`). */
export type Bind = (value: unknown) => string;

/**
 * A Bind onto `params`, so that conditions written by different functions (the principal's scope,
 * a cursor, a filter) share one parameter list without counting each other's placeholders.
 */
export function binder(params: unknown[]): Bind {
  return (value) => {
    params.push(value);
    return `$${params.length}`;
  };
}
