import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { Link, Redirect, Route, Switch, useLocation, useRoute } from 'wouter';
import { getMe } from './api/calls';
import { problemOf, type Me, type Problem } from './api/client';
import { formatWhen } from './components/format';
import { ProblemAlert } from './components/problem-alert';
import { forgetKey, readKey, storeKey } from './session';
import { SignIn } from './views/sign-in';
import { UsersView } from './views/users';
import { UserView } from './views/user';
import { NewUserView } from './views/new-user';
import { BillingGroupsView } from './views/billing-groups';
import { AuditView } from './views/audit';

const MeContext = createContext<Me | null>(null);

/**
 * The signed-in key's organization and scope (GET me): which buttons to show. Null while GET me is on its
 * way: the views do not wait for it (their own data loads in parallel) and add the buttons when it lands.
 */
export const useMe = (): Me | null => useContext(MeContext);

/** Whether the key may write users (write or admin scope). */
export const canWrite = (me: Me | null) => me !== null && me.scope !== 'read';

/** Whether the key has the admin scope (audit trail, billing group writes). */
export const isAdmin = (me: Me | null) => me?.scope === 'admin';

let signOutListener: ((reason: Problem | null) => void) | null = null;

/** Forgets the key (a 401 from any call: the key was revoked or expired) and shows the sign-in form. */
export function signOutEverywhere(reason: Problem | null): void {
  forgetKey();
  signOutListener?.(reason);
}

function NavLink({ href, children }: { href: string; children: string }) {
  const [active] = useRoute(`${href}/*?`);
  return (
    <Link href={href} aria-current={active ? 'page' : undefined}>
      {children}
    </Link>
  );
}

/** The console: the sign-in form until a key works, then the views, whatever the URL (a deep link survives sign-in). */
export function App() {
  const queryClient = useQueryClient();
  const [key, setKey] = useState(readKey);
  const [reason, setReason] = useState<Problem | null>(null);
  const me = useQuery({ queryKey: ['me', key], queryFn: () => getMe(), enabled: key !== null, staleTime: Infinity });
  const [path] = useLocation();
  const firstPath = useRef(true);

  // A new page (not a new search or page number: typing must keep its focus) starts reading at its content,
  // as a screen reader user expects after following a link; the clicked link may be gone.
  useEffect(() => {
    if (firstPath.current) firstPath.current = false;
    else document.getElementById('main')?.focus();
  }, [path]);

  useEffect(() => {
    signOutListener = (problem) => {
      setReason(problem);
      setKey(null);
      queryClient.clear();
    };
    return () => {
      signOutListener = null;
    };
  }, [queryClient]);

  if (key === null)
    return (
      <SignIn
        reason={reason}
        onSignedIn={(newKey, who) => {
          storeKey(newKey);
          queryClient.setQueryData(['me', newKey], who);
          setReason(null);
          setKey(newKey);
        }}
      />
    );

  return (
    <MeContext.Provider value={me.data ?? null}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Roster</span>
        <nav aria-label="Main">
          <NavLink href="/users">Users</NavLink>
          <NavLink href="/billing-groups">Billing groups</NavLink>
          <NavLink href="/audit">Audit</NavLink>
        </nav>
        <span className="who">
          {me.data
            ? `${me.data.organization} · ${me.data.scope} key ${me.data.key_prefix}` +
              (me.data.expires_at ? ` · expires ${formatWhen(me.data.expires_at)}` : '')
            : ''}
        </span>
        <button type="button" onClick={() => signOutEverywhere(null)}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {me.error ? <ProblemAlert problem={problemOf(me.error)} /> : null}
        <Switch>
          <Route path="/">
            <Redirect to="/users" replace />
          </Route>
          <Route path="/users" component={UsersView} />
          <Route path="/users/:user">{(params) => <UserView userRef={params.user} />}</Route>
          <Route path="/new-user" component={NewUserView} />
          <Route path="/billing-groups" component={BillingGroupsView} />
          <Route path="/audit" component={AuditView} />
          <Route>
            <h1>Not found</h1>
            <p>
              There is no such page in the console. <Link href="/users">Go to the users</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </MeContext.Provider>
  );
}
