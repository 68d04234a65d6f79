/** Paging as the Marketing Edge Users API does it (docs/contract.md, section 2): `pagenumber` from 1, `pagesize` capped, an exact total, RFC 8288 links. */

export interface PageRequest {
  readonly pageNumber: number;
  readonly pageSize: number;
  readonly offset: number;
}

/** Resolves the effective page: a page size above the cap is served as the cap. */
export function resolvePage(pageNumber: number, pageSize: number, cap: number): PageRequest {
  const size = Math.min(pageSize, cap);
  return { pageNumber, pageSize: size, offset: (pageNumber - 1) * size };
}

/** The `Link` header (first, prev, next, last) for a page, keeping every other query parameter of `url`. */
export function linkHeader(url: string, page: PageRequest, total: number): string {
  // Everything after the first `?` is the query (a value may hold another `?`; split('?', 2) would drop it).
  const at = url.indexOf('?');
  const path = at === -1 ? url : url.slice(0, at);
  const search = at === -1 ? '' : url.slice(at + 1);
  const kept = new URLSearchParams(search);
  for (const name of [...kept.keys()]) {
    const lower = name.toLowerCase();
    if (lower === 'pagenumber' || lower === 'pagesize') kept.delete(name);
  }
  const last = Math.max(1, Math.ceil(total / page.pageSize));
  const href = (n: number) => {
    const q = new URLSearchParams(kept);
    q.set('pagenumber', String(n));
    q.set('pagesize', String(page.pageSize));
    return `<${path}?${q.toString()}>`;
  };
  const links = [`${href(1)}; rel="first"`];
  if (page.pageNumber > 1) links.push(`${href(Math.min(page.pageNumber - 1, last))}; rel="prev"`);
  if (page.pageNumber < last) links.push(`${href(page.pageNumber + 1)}; rel="next"`);
  links.push(`${href(last)}; rel="last"`);
  return links.join(', ');
}
