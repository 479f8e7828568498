/**
 * Fly.io helpers for sticky sessions: on Fly, a session's requests reach
 * the Machine holding it when the client sends `fly-force-instance-id:
 * <machine id>`, so the Machine id serves as the server id and as the echo
 * header a session asks its client to send back. Off Fly (no
 * `FLY_MACHINE_ID`) both are undefined and change nothing.
 */

/** The header Fly's proxy routes on. */
export const FLY_FORCE_INSTANCE_HEADER = 'fly-force-instance-id';

const machineId = (env: NodeJS.ProcessEnv): string | undefined => {
  const id = env.FLY_MACHINE_ID?.trim();
  return id === undefined || id === '' ? undefined : id;
};

/** `$FLY_MACHINE_ID` as a server id on Fly, undefined elsewhere (the runtime then picks a random one). */
export const flyServerId = (env: NodeJS.ProcessEnv = process.env): string | undefined => machineId(env);

/** `{ 'fly-force-instance-id': $FLY_MACHINE_ID }` for `http.sticky.echoHeaders` on Fly, undefined elsewhere. */
export const flyEchoHeaders = (env: NodeJS.ProcessEnv = process.env): Readonly<Record<string, string>> | undefined => {
  const id = machineId(env);
  return id === undefined ? undefined : { [FLY_FORCE_INSTANCE_HEADER]: id };
};
