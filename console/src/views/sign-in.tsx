import { useId, useState } from 'react';
import { getMe } from '../api/calls';
import { problemOf, type Me, type Problem } from '../api/client';
import { ProblemAlert } from '../components/problem-alert';
import { useTitle } from '../components/use-title';

interface SignInProps {
  /** Why the person is signed out (a key that stopped working), if not by choice. */
  readonly reason: Problem | null;
  readonly onSignedIn: (key: string, me: Me) => void;
}

/** The API key form: the key is tried with GET me before it is kept. */
export function SignIn({ reason, onSignedIn }: SignInProps) {
  useTitle('Sign in');
  const id = useId();
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<Problem | null>(reason);
  const [busy, setBusy] = useState(false);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      onSignedIn(key.trim(), await getMe(key.trim()));
    } catch (error) {
      setProblem(problemOf(error));
      setBusy(false);
    }
  }

  return (
    <main id="main" className="sign-in">
      <h1>Roster console</h1>
      <p>
        Sign in with an API key of your organization. It is kept in this browser tab only, until you sign out or close
        the tab.
      </p>
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor={id}>API key</label>
        <input
          id={id}
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <ProblemAlert problem={problem} />
    </main>
  );
}
