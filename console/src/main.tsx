import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from 'wouter';
import { ApiError } from './api/client';
import { App, signOutEverywhere } from './app';
import './styles.css';

/** A 401 anywhere means the key stopped working (revoked, expired): back to the sign-in form. */
const onError = (error: unknown) => {
  if (error instanceof ApiError && error.status === 401) signOutEverywhere(error.problem);
};

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    // A 4xx will not change by asking again; a network blip may.
    queries: { retry: (count, error) => !(error instanceof ApiError) && count < 2, staleTime: 10_000 },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <Router base="/console">
        <App />
      </Router>
    </QueryClientProvider>
  </StrictMode>,
);
