import type { Problem } from '../api/client';

/** An API problem shown to the person: the API's own detail, announced at once (role=alert). */
export function ProblemAlert({ problem, children }: { problem: Problem | null; children?: React.ReactNode }) {
  if (!problem) return null;
  return (
    <div role="alert" className="alert">
      <p>
        <strong>{problem.title}.</strong> {problem.detail}
      </p>
      {children}
    </div>
  );
}
