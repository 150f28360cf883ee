/** A dashed name in PascalCase, for construct ids and output keys: `email-platform` → `EmailPlatform`. */
export function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, char: string) => char.toUpperCase());
}
