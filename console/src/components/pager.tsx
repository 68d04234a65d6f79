import { useId } from 'react';

const PAGE_SIZES = [25, 50, 100] as const;

interface PagerProps {
  readonly page: number;
  readonly pageSize: number;
  readonly total: number;
  readonly onPage: (page: number) => void;
  readonly onPageSize: (size: number) => void;
}

/** "Previous page", "Page X of Y", "Next page" and "Rows per page", for any paged API list. */
export function Pager({ page, pageSize, total, onPage, onPageSize }: PagerProps) {
  const id = useId();
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 1}>
        Previous page
      </button>
      <span>
        Page {page.toLocaleString('en-US')} of {pages.toLocaleString('en-US')}
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages}>
        Next page
      </button>
      <label htmlFor={id}>Rows per page</label>
      <select id={id} value={pageSize} onChange={(e) => onPageSize(Number(e.target.value))}>
        {/* A pasted link may carry another size: show it rather than pretend it is 25. */}
        {(PAGE_SIZES.includes(pageSize as (typeof PAGE_SIZES)[number]) ? PAGE_SIZES : [...PAGE_SIZES, pageSize]).map(
          (size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ),
        )}
      </select>
    </nav>
  );
}
