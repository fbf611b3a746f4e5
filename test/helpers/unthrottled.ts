/** Settings only (no server code), so tests that merely spawn the server can use it too. */
/** For tests that measure or fuzz the login itself: no rate limit, backoff or spraying throttle may answer first. */
export const UNTHROTTLED = Object.freeze({
  RATE_LIMIT_IP_BURST: '1000000',
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_ACCOUNT_BURST: '1000000',
  RATE_LIMIT_ACCOUNT_PER_MINUTE: '1000000',
  LOGIN_BACKOFF_FREE_FAILURES: '1000',
  SPRAY_ACCOUNTS_PER_HOUR: '1000000',
});
