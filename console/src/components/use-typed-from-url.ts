import { useEffect, useRef, useState } from 'react';

/**
 * The text of filter inputs that follow the URL (Back, Forward, a pasted link): a field is set from the URL
 * only when the URL's value of that field changes. Text typed in one field survives the URL moving for
 * another, such as a debounced filter of the field before landing while the person types in the next.
 */
export function useTypedFromUrl<K extends string>(fromUrl: Record<K, string>) {
  const [typed, setTyped] = useState(fromUrl);
  const seen = useRef(fromUrl);
  useEffect(() => {
    const changed = (Object.keys(fromUrl) as K[]).filter((k) => fromUrl[k] !== seen.current[k]);
    seen.current = fromUrl;
    if (changed.length > 0) setTyped((t) => ({ ...t, ...Object.fromEntries(changed.map((k) => [k, fromUrl[k]])) }));
  });
  return [typed, setTyped] as const;
}
