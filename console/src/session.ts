// The API key lives in sessionStorage only: it survives a reload of this tab but not the tab itself, is
// never sent as a cookie, never put in a URL, and never shared with other tabs (docs/console.md).
const KEY = 'roster.apiKey';

export const readKey = (): string | null => sessionStorage.getItem(KEY);
export const storeKey = (key: string): void => sessionStorage.setItem(KEY, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY);
