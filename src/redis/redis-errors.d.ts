/** redis-errors ships no types: the class used here. */
declare module 'redis-errors' {
  /** An error reply (`-ERR …`, `-NOAUTH …`); the class ioredis and node-redis use too. */
  class ReplyError extends Error {
    constructor(message: string);
  }
  const errors: { ReplyError: typeof ReplyError };
  export default errors;
}
