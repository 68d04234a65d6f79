/** The elements of an HTTP list header (`a, b,,c`), trimmed, empty ones dropped (RFC 9110, section 5.6.1). */
export function splitHeaderList(value: string): string[] {
  return value
    .split(',')
    .map((element) => element.trim())
    .filter((element) => element !== '');
}
