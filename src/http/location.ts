/**
 * The Location of what a POST created: the collection's path (whatever parent
 * the POST named, e.g. `POST billinggroups/{parent_id}`) and the new id.
 */
export function createdLocation(url: string, collection: string, id: string | number): string {
  const path = (url.split('?')[0] ?? '').replace(/\/+$/, '');
  return `${path.replace(new RegExp(`/${collection}(/[^/]*)?$`), `/${collection}`)}/${id}`;
}
