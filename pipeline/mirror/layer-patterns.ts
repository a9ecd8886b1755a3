/** True when `id` matches one of the glob-like patterns ("*", "gaotang-*", "farmland"). */
export function matchesLayerPatterns(id: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(id));
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*');
  return new RegExp(`^${escaped}$`);
}
