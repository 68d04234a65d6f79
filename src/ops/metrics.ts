import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SearchIndexProgress } from '../users/user.search.js';
import { countDroppedLogLines } from './log-destination.js';

/** Prometheus metrics of one app: request counts and latencies by route, plus process metrics (dropped log lines among them) when asked. */
export function registerMetrics(
  app: FastifyInstance,
  options: {
    processMetrics: boolean;
    cachedBytes: () => number;
    answerCacheCounts: () => { kept: number; dropped: number; refused: number };
    /** Write transactions committed and the writes they carried (db/group-commit.ts). */
    writeCommitCounts: () => { commits: number; writes: number; reruns: number };
    searchIndexProgress: () => SearchIndexProgress;
    searchIndexCounts: () => { index: number; database: number };
  },
): Registry {
  const registry = new Registry();
  const gauges = {
    rows: 'Rows the search indexes hold, and rows read so far by the builds under way',
    building: 'Organizations whose search index is being built',
    bytes: 'Bytes the search indexes hold, estimated',
  } as const;
  for (const [name, help] of Object.entries(gauges))
    new Gauge({
      name: `roster_search_index_${name}`,
      help,
      registers: [registry],
      collect() {
        const p = options.searchIndexProgress();
        this.set(name === 'rows' ? p.rows_indexed : name === 'building' ? p.organizations_building : p.bytes);
      },
    });
  new Counter({
    name: 'roster_search_index_answers_total',
    help: 'Substring searches answered by a search index (index) or by the database instead (database)',
    labelNames: ['by'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = options.searchIndexCounts();
      this.inc({ by: 'index' }, counts.index);
      this.inc({ by: 'database' }, counts.database);
    },
  });
  new Gauge({
    name: 'roster_answer_cache_bytes',
    help: 'Bytes the answer cache charges to its budget (ROSTER_CACHE_BYTES): keys, bodies and a per-entry overhead',
    registers: [registry],
    collect() {
      this.set(options.cachedBytes());
    },
  });
  for (const outcome of ['kept', 'dropped'] as const)
    new Counter({
      name: `roster_answer_cache_${outcome}_total`,
      help: `Cached answers older than a write that the change log showed to stand (kept) or not (dropped)`,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(options.answerCacheCounts()[outcome]);
      },
    });
  new Counter({
    name: 'roster_answer_cache_refused_total',
    help: 'Answers the full answer cache turned away because their key came for the first time (its doorkeeper)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(options.answerCacheCounts().refused);
    },
  });
  new Counter({
    name: 'roster_write_commits_total',
    help: 'Write transactions committed; several waiting writes of one organization share one (group commit)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(options.writeCommitCounts().commits);
    },
  });
  new Counter({
    name: 'roster_writes_committed_total',
    help: 'Writes committed (each acknowledged only after the commit that holds it)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(options.writeCommitCounts().writes);
    },
  });
  new Counter({
    name: 'roster_write_batches_rerun_total',
    help: 'Shared write transactions rolled back because one of their writes failed, then run again with a savepoint per write',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(options.writeCommitCounts().reruns);
    },
  });
  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry, prefix: 'roster_' });
    new Counter({
      name: 'roster_log_lines_dropped_total',
      help: 'Log lines this process could not write (stdout closed or its reader too far behind)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(countDroppedLogLines());
      },
    });
  }
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'roster_http_requests_total',
    help: 'HTTP requests answered',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'roster_http_request_duration_seconds',
    help: 'Time to answer HTTP requests',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: label values must stay few.
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
  return registry;
}
