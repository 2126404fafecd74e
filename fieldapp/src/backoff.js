// How long the app waits before starting again a replication the link broke
// (sync.js cancels the failed run and starts a new one): apart from PouchDB so that
// Node's tests can import it.

export const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 5 * 60 * 1000;

/**
 * The next wait before retrying: doubles from 1 s up to 5 min, with ±20% jitter
 * so that a soum's phones coming back at once do not retry in step.
 */
export function backoff(previous, random = Math.random) {
  const base = previous ? Math.min(previous * 2, MAX_RETRY_MS) : FIRST_RETRY_MS;
  return Math.round(base * (0.8 + 0.4 * random()));
}
