/** Credentials inside an endpoint URL (http://user:pw@host) are as secret as a password field. */
export function redactEndpoint(endpoint: string): string {
  return endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1****@')
}

/** A comma-separated endpoint list with every credential masked. */
export const redactEndpoints = (endpoints: string): string => endpoints.split(',').map((e) => redactEndpoint(e.trim())).join(',')
