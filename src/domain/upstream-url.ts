/**
 * Why a mirror's upstream URL cannot be used, or null when it can: it must be an http(s)
 * URL of a plantiles node, optionally under a path prefix (a reverse proxy's), with no
 * query or fragment (request paths are appended to it).
 */
export function upstreamUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${text}" is not an http or https URL`;
  // Checked on the text: URL drops an empty query or fragment ("http://h/?").
  if (text.includes('?') || text.includes('#')) return `"${text}" has a query or fragment: give the node's base URL (request paths are appended to it)`;
  if (url.username || url.password) return `"${text}" holds a user name or password: plantiles nodes take none`;
  return null;
}
