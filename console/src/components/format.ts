/** The API's UTC timestamp (2016-03-03T16:13:59.1917141) as a short readable UTC time. */
export const formatWhen = (timestamp: string | null | undefined): string =>
  timestamp ? `${timestamp.slice(0, 16).replace('T', ' ')} UTC` : 'never';

/** A count with its noun: "1 user", "1,000,000 users". */
export const countOf = (n: number, noun: string, plural = `${noun}s`): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
