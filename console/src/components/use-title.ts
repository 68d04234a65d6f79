import { useEffect } from 'react';

/** Names the browser tab (and what a screen reader announces on navigation) after the view. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Roster console`;
  }, [title]);
}
