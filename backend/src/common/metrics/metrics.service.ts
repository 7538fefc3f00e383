import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus registry of this process, with the counters the modules update. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly socketConnections = new Gauge({
    name: 'socketio_connections',
    help: 'Open Socket.IO connections on this process',
    registers: [this.registry],
  });
  readonly socketsCut = new Counter({
    name: 'socketio_slow_consumer_disconnects_total',
    help: 'Sockets cut because their client left more than SOCKET_MAX_QUEUED_BYTES unread',
    registers: [this.registry],
  });
  readonly socketEvents = new Counter({
    name: 'socketio_events_total',
    help: 'Socket.IO events received, by event and outcome',
    labelNames: ['event', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'chat_messages_total',
    help: 'Messages persisted (new) or answered from an earlier send (duplicate)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly messagePersist = new Histogram({
    name: 'chat_message_persist_seconds',
    help: 'Time from a send arriving to its commit',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly sendBatchSize = new Histogram({
    name: 'chat_send_batch_size',
    help: 'Sends written per database transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  // Database and Redis: the pool and connection gauges are read at scrape time (DependencyMetrics).
  readonly dbQueryDuration = new Histogram({
    name: 'db_query_duration_seconds',
    help: 'SQL query time, by outcome (ok, error)',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  // Set by the readiness check (the kubelet probes it every few seconds); absent until the first.
  readonly dependencyReachable = new Gauge({
    name: 'dependency_reachable',
    help: '1 when the last readiness check reached the dependency (database, redis), 0 when not',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
